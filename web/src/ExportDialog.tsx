// The export dialog of playback: a range, who receives it and where it goes; an MP4
// download or a verifiable bundle (both registered copies, under a grant that allows
// reproduction), or, for administrators, a legal hold on the range.
import { useState } from "react";
import { ApiError, exportUrl, makeBundle, placeHold } from "./api";
import { useT } from "./i18n";
import { fromInput } from "./time";
import { DateTimeField } from "./DateTimeField";

export function ExportDialog({ cameraId, initial, copyGrant, admin, recipient, setRecipient, destination, setDestination, onClose }: {
  cameraId: number; initial: { from: string; to: string }; copyGrant: number | undefined; admin: boolean;
  recipient: string; setRecipient: (s: string) => void; destination: string; setDestination: (s: string) => void;
  onClose: () => void;
}) {
  const t = useT();
  const [range, setRange] = useState(initial);
  const [purpose, setPurpose] = useState("");
  const [msg, setMsg] = useState("");
  const from = fromInput(range.from), to = fromInput(range.to);
  // A range only when both ends are real times, in order: nothing is handed out else.
  const ranged = Number.isFinite(from) && Number.isFinite(to) && to > from;
  const fail = (e: unknown) => setMsg(e instanceof ApiError ? e.message : String(e));
  return (
    <div className="dialog" role="dialog" aria-label={t("exportTitle")}>
      <h3>{t("exportTitle")}</h3>
      <label>{t("from")} <DateTimeField value={range.from} testid="export-from"
        onChange={(v) => setRange({ ...range, from: v })} /></label>
      <label>{t("to")} <DateTimeField value={range.to} testid="export-to"
        onChange={(v) => setRange({ ...range, to: v })} /></label>
      <label>{t("recipient")} <input data-testid="export-recipient" value={recipient} onChange={(e) => setRecipient(e.target.value)} /></label>
      <label>{t("destination")} <input data-testid="export-destination" value={destination} onChange={(e) => setDestination(e.target.value)} /></label>
      <div className="buttons">
        {recipient.trim() && ranged ? (
          <a className="button" data-testid="export-download" download
            href={exportUrl(cameraId, from, to, recipient, destination, copyGrant)}>{t("download")}</a>
        ) : <button disabled>{t("download")}</button>}
        <button onClick={onClose}>{t("cancel")}</button>
      </div>
      <label>{t("purpose")} <input data-testid="export-purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)} /></label>
      <div className="buttons">
        <button data-testid="export-bundle" disabled={!purpose.trim() || !recipient.trim() || !ranged} onClick={async () => {
          setMsg(t("bundling"));
          try {
            const b = await makeBundle(cameraId, from, to, purpose, recipient, destination, copyGrant);
            // The whole fingerprint, as `vidimus log-key` and `vidimus verify` print it.
            setMsg(`${t("bundleReady")} ${b.key_fingerprint}`);
            const a = document.createElement("a");
            a.href = b.download;
            a.download = `${b.export_id}.vbundle`;
            document.body.appendChild(a);
            a.click();
            a.remove();
          } catch (e) {
            fail(e);
          }
        }}>{t("bundle")}</button>
        {admin && <button data-testid="place-hold" disabled={!purpose.trim() || !ranged} onClick={() =>
          placeHold(cameraId, from, to, purpose).then(() => setMsg(t("holdPlaced"))).catch(fail)}>{t("placeHold")}</button>}
      </div>
      {msg && <div className="bundle-status" data-testid="bundle-status">{msg}</div>}
    </div>
  );
}
