// Publication (Art. 31): a recorded range, anonymized — faces and plates made
// unidentifiable and unrestorable, checked again — then released as an MP4 and a
// verifiable publication bundle, each download registered. Under a grant for
// publication nothing of the recording itself is shown: the range is chosen by time,
// and what comes back is the anonymized clip or, when the re-check still finds a face
// or plate, why nothing was released. A grant that reaches past now also offers the
// camera's live picture, anonymized by the server (open sharing and broadcast, Art. 22,
// 23): registered like a publication, never the raw view.
import { useEffect, useRef, useState } from "react";
import { ApiError, anonymizedLiveUrl, publication, publicationUrl, startPublication, type Publication } from "./api";
import { playSocket } from "./mse";
import { useCameras, useGrants } from "./data";
import { useT } from "./i18n";
import { fromInput, toInput } from "./time";
import { DateTimeField } from "./DateTimeField";

export function Publish() {
  const t = useT();
  const grants = (useGrants().data ?? []).filter((g) => g.actions.includes("publish"));
  const cams = useCameras(60_000);
  const [grantId, setGrantId] = useState<number | null>(null);
  const grant = grants.find((g) => g.id === grantId) ?? grants[0];
  const camIds = grant ? (grant.cameras.length ? grant.cameras : cams.map((c) => c.id)) : [];
  const [cameraId, setCameraId] = useState<number | null>(null);
  const camera = cameraId !== null && camIds.includes(cameraId) ? cameraId : camIds[0];
  const name = (id: number) => cams.find((c) => c.id === id)?.name ?? `#${id}`;
  const [range, setRange] = useState<{ from: string; to: string } | null>(null);
  // The range starts as the grant's first ten seconds (it can be changed, within it).
  useEffect(() => {
    if (!grant || range) return;
    const from = Date.parse(grant.from) / 1000;
    setRange({ from: toInput(from), to: toInput(from + 10) });
  }, [grant, range]);
  const [purpose, setPurpose] = useState("");
  const [recipient, setRecipient] = useState("");
  const [figures, setFigures] = useState(false);
  const [strict, setStrict] = useState(false);
  const [msg, setMsg] = useState("");
  const [made, setMade] = useState<Publication[]>([]);
  const from = range ? fromInput(range.from) : NaN, to = range ? fromInput(range.to) : NaN;
  const ranged = Number.isFinite(from) && Number.isFinite(to) && to > from;

  // Jobs still running are asked about every second until they end.
  const running = made.filter((p) => p.state === "running").map((p) => p.publication_id).join(",");
  useEffect(() => {
    if (!running) return;
    const i = window.setInterval(() => {
      for (const id of running.split(",")) {
        publication(id).then((p) => setMade((m) => m.map((x) => (x.publication_id === id ? p : x)))).catch(() => {});
      }
    }, 1000);
    return () => window.clearInterval(i);
  }, [running]);

  if (!grant) return <div className="publish"><h2>{t("publishTitle")}</h2><p className="hint" data-testid="publish-no-grant">{t("publishNoGrant")}</p></div>;
  return (
    <div className="publish">
      <h2>{t("publishTitle")}</h2>
      <p className="hint">{t("publishHint")}</p>
      <div className="form">
        {grants.length > 1 && (
          <label>{t("grant")} <select data-testid="publish-grant" value={grant.id} onChange={(e) => setGrantId(Number(e.target.value))}>
            {grants.map((g) => <option key={g.id} value={g.id}>{`#${g.id} ${g.purpose}`}</option>)}
          </select></label>
        )}
        <label>{t("camera")} <select data-testid="publish-camera" value={camera} onChange={(e) => setCameraId(Number(e.target.value))}>
          {camIds.map((id) => <option key={id} value={id}>{name(id)}</option>)}
        </select></label>
        {range && <>
          <label>{t("from")} <DateTimeField value={range.from} testid="publish-from" onChange={(v) => setRange({ ...range, from: v })} /></label>
          <label>{t("to")} <DateTimeField value={range.to} testid="publish-to" onChange={(v) => setRange({ ...range, to: v })} /></label>
        </>}
        <label>{t("publishPurpose")} <input data-testid="publish-purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)} /></label>
        <label>{t("broadcaster")} <input data-testid="publish-recipient" value={recipient} onChange={(e) => setRecipient(e.target.value)} /></label>
        <label className="check"><input type="checkbox" data-testid="publish-figures" checked={figures} onChange={(e) => setFigures(e.target.checked)} /> {t("figures")}</label>
        <label className="check"><input type="checkbox" data-testid="publish-strict" checked={strict} onChange={(e) => setStrict(e.target.checked)} /> {t("strict")}</label>
        <div className="buttons">
          <button data-testid="publish-start" disabled={!ranged || !purpose.trim() || !recipient.trim() || camera === undefined}
            onClick={() => {
              setMsg("");
              startPublication(camera, from, to, purpose.trim(), recipient.trim(), figures, strict, grant.id)
                .then((p) => setMade((m) => [p, ...m]))
                .catch((e) => setMsg(e instanceof ApiError ? e.message : String(e)));
            }}>{t("publishStart")}</button>
        </div>
        {msg && <div className="error" role="alert" data-testid="publish-error">{msg}</div>}
      </div>
      {(grant.to === null || Date.parse(grant.to) > Date.now()) && camera !== undefined && (
        <AnonymizedLive camera={camera} recipient={recipient.trim()} figures={figures} strict={strict} grant={grant.id} />
      )}
      {made.length > 0 && <h3>{t("publicationsMade")}</h3>}
      <ul className="publications">
        {made.map((p) => <li key={p.publication_id} data-testid="publication" data-state={p.state} data-id={p.publication_id}>
          <b>{p.camera}</b> {p.from} – {p.to} <small>{p.recipient}</small>
          <div><JobState p={p} /></div>
        </li>)}
      </ul>
    </div>
  );
}

function JobState({ p }: { p: Publication }) {
  const t = useT();
  switch (p.state) {
    case "running":
      return <span data-testid="publication-progress">{t("publishRunning", { done: String(p.done), total: String(p.total) })}
        {" "}<progress max={p.total || 1} value={p.done} /></span>;
    case "published":
      return <>
        <span data-testid="publication-done">{t("publishDone", { frames: String(p.frames), secs: p.duration_secs.toFixed(1),
          rechecked: String(p.rechecked_frames), found: String(p.recheck_found), entry: String(p.register_entry) })}</span>
        <div><small>{t("clipDigest")}: <code data-testid="publication-sha256">{p.sha256}</code></small></div>
        <div className="buttons">
          <a className="button" data-testid="publication-mp4" download href={publicationUrl(p.publication_id, "publication.mp4")}>{t("downloadClip")}</a>
          <a className="button" data-testid="publication-bundle" download href={publicationUrl(p.publication_id, "publication.vpub")}>{t("downloadPublicationBundle")}</a>
        </div>
      </>;
    case "blocked":
      return <>
        <span className="error" data-testid="publication-blocked">{t("publishBlocked", { n: String(p.left) })}</span>
        <ul data-testid="publication-findings">{p.findings.slice(0, 20).map((f, i) =>
          <li key={i}>{t("finding", { frame: String(f.frame), kind: t(`found_${f.kind}` as "found_face") ?? f.kind,
            x: f.rect.x1.toFixed(0), y: f.rect.y1.toFixed(0), score: f.score.toFixed(2) })}</li>)}</ul>
      </>;
    case "failed":
      return <span className="error" data-testid="publication-failed">{t("publishFailed")}: {p.error}</span>;
  }
}

/** The camera's live picture, anonymized by the server, for its recipient: opened on
 * request (each opening is a registered reproduction), closed on request. */
function AnonymizedLive({ camera, recipient, figures, strict, grant }:
  { camera: number; recipient: string; figures: boolean; strict: boolean; grant: number }) {
  const t = useT();
  const video = useRef<HTMLVideoElement>(null);
  const [on, setOn] = useState(false);
  const [message, setMessage] = useState("");
  useEffect(() => {
    if (!on) return;
    const stop = playSocket(video.current!, anonymizedLiveUrl(camera, recipient, figures, strict, grant), {
      liveEdge: true,
      onMessage: setMessage,
      unsupported: (codec) => t("unsupportedCodec", { codec }),
      onEnd: (reason) => { setMessage(t("viewEnded", { reason })); setOn(false); },
      onLost: () => { setMessage(t("anonymizedLiveLost")); setOn(false); },
    });
    return stop;
    // Reopened only by the button: a change of the form does not reopen it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [on]);
  return (
    <div className="anonymized-live">
      <h3>{t("anonymizedLiveTitle")}</h3>
      <p className="hint">{t("anonymizedLiveHint")}</p>
      <div className="buttons">
        {on
          ? <button data-testid="anonymized-live-stop" onClick={() => { setOn(false); setMessage(""); }}>{t("anonymizedLiveStop")}</button>
          : <button data-testid="anonymized-live-start" disabled={!recipient} onClick={() => { setMessage(t("waiting")); setOn(true); }}>{t("anonymizedLiveStart")}</button>}
      </div>
      <video ref={video} data-testid="anonymized-live-video" muted playsInline autoPlay hidden={!on} />
      {message && <div className="tile-message" data-testid="anonymized-live-message">{message}</div>}
    </div>
  );
}
