// Static privacy masks (administrators of the system manager; Art. 10, 30): pick a
// camera, draw polygons over its live picture, save. The drawing is only the editor:
// what anyone watches is masked by the server, which burns the saved polygons into
// the pixels (live, playback, snapshots, thumbnails, publications) for every grant
// without `unmask`. Corners are kept as fractions of the picture. Removing, shrinking
// or moving a mask is only proposed (the two-person rule): the mask stays until
// another administrator approves the change shown here, dashed, within a day.
import { useEffect, useRef, useState } from "react";
import { decideMaskChange, grantsFor, privacyMask, setPrivacyMask, type Polygon, type PrivacyMask } from "./api";
import { useCameras, useGrants } from "./data";
import { LiveTile } from "./LiveTile";
import { useT } from "./i18n";
import { useTime } from "./time";

export function Masks() {
  const t = useT();
  const tm = useTime();
  const cams = useCameras();
  const grants = useGrants().data ?? [];
  const [cameraId, setCameraId] = useState<number | null>(null);
  const [saved, setSaved] = useState<PrivacyMask | null>(null);
  const [polygons, setPolygons] = useState<Polygon[]>([]);
  const [drawing, setDrawing] = useState<Polygon>([]);
  const [error, setError] = useState("");
  const board = useRef<SVGSVGElement>(null);

  useEffect(() => {
    if (cameraId === null && cams.length > 0) setCameraId(cams[0].id);
  }, [cams, cameraId]);
  useEffect(() => {
    if (cameraId === null) return;
    setDrawing([]);
    setError("");
    reload(cameraId);
  }, [cameraId]);

  function reload(id: number) {
    privacyMask(id).then((m) => { setSaved(m); setPolygons(m.polygons); }).catch((e) => setError(String(e.message ?? e)));
  }
  const decide = (how: "approve" | "reject") => {
    if (cameraId === null || !saved?.pending) return;
    setError("");
    decideMaskChange(cameraId, saved.pending.id, how).then(() => reload(cameraId))
      .catch((e) => setError(String(e.message ?? e)));
  };
  const cam = cams.find((c) => c.id === cameraId);
  const liveGrant = cameraId === null ? undefined : grantsFor(grants, cameraId, "view_live")[0]?.id;
  const place = (e: React.MouseEvent<SVGSVGElement>) => {
    const r = board.current!.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (e.clientX - r.left) / r.width));
    const y = Math.min(1, Math.max(0, (e.clientY - r.top) / r.height));
    setDrawing((d) => [...d, [Number(x.toFixed(4)), Number(y.toFixed(4))]]);
  };
  const close = () => { if (drawing.length >= 3) { setPolygons((p) => [...p, drawing]); setDrawing([]); } };
  const save = () => {
    if (cameraId === null) return;
    setError("");
    setPrivacyMask(cameraId, polygons).then((m) => { setSaved(m); setPolygons(m.polygons); })
      .catch((e) => setError(String(e.message ?? e)));
  };
  const points = (p: Polygon) => p.map(([x, y]) => `${x},${y}`).join(" ");
  const dirty = JSON.stringify(polygons) !== JSON.stringify(saved?.polygons ?? []);

  return (
    <div className="masks" data-testid="masks">
      <h3>{t("masks")}</h3>
      <p className="hint">{t("masksIntro")}</p>
      <label>{t("maskCamera")}{" "}
        <select data-testid="mask-camera" value={cameraId ?? ""} onChange={(e) => setCameraId(Number(e.target.value))}>
          {cams.map((c) => <option key={c.id} value={c.id}>{c.name}{c.privacy_masked ? ` (${t("maskedBadge")})` : ""}</option>)}
        </select>
      </label>
      {cam && (
        <div className="mask-editor" data-testid="mask-editor">
          <LiveTile key={cam.id} cameraId={cam.id} name={cam.name} grant={liveGrant} status={cam.status} reason={cam.last_error} />
          <svg ref={board} className="mask-board" data-testid="mask-board" viewBox="0 0 1 1" preserveAspectRatio="none" onClick={place}>
            {polygons.map((p, i) => <polygon key={i} points={points(p)} fillRule="nonzero" className="mask-poly" data-testid="mask-poly" />)}
            {saved?.pending?.polygons.map((p, i) => <polygon key={`p${i}`} points={points(p)} fillRule="nonzero" className="mask-proposed" data-testid="mask-proposed" />)}
            {drawing.length > 0 && <polyline points={points(drawing)} className="mask-drawing" />}
            {drawing.map(([x, y], i) => <circle key={i} cx={x} cy={y} r={0.006} className="mask-corner" />)}
          </svg>
        </div>
      )}
      <p className="hint">{t("maskClickToDraw")}</p>
      <div className="mask-actions">
        <button data-testid="mask-close" disabled={drawing.length < 3} onClick={close}>{t("maskClose")}</button>
        <button data-testid="mask-undo" disabled={drawing.length === 0} onClick={() => setDrawing((d) => d.slice(0, -1))}>{t("maskUndo")}</button>
        <button data-testid="mask-clear" disabled={polygons.length === 0 && drawing.length === 0} onClick={() => { setPolygons([]); setDrawing([]); }}>{t("maskClear")}</button>
        <button data-testid="mask-save" disabled={!dirty} onClick={save}>{t("maskSave")}</button>
      </div>
      <p data-testid="mask-state">
        {saved && saved.polygons.length > 0 && saved.set_by
          ? `${t("maskSaved", { n: String(saved.polygons.length), by: saved.set_by })} · ${saved.set_at ? tm.dateTimeZone(Date.parse(saved.set_at) / 1000) : ""}`
          : t("maskNone")}
      </p>
      {saved?.pending && (
        <div className="mask-pending" data-testid="mask-pending">
          <p>{t("maskPending", {
            by: saved.pending.proposed_by,
            at: tm.dateTimeZone(Date.parse(saved.pending.proposed_at) / 1000),
            until: tm.dateTimeZone(Date.parse(saved.pending.expires_at) / 1000),
          })}</p>
          <button data-testid="mask-approve" onClick={() => decide("approve")}>{t("maskApprove")}</button>
          <button data-testid="mask-reject" onClick={() => decide("reject")}>{t("maskReject")}</button>
        </div>
      )}
      {error && <p className="error" data-testid="mask-error">{error}</p>}
    </div>
  );
}
