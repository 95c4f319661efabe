// Compliance: the dashboard (every system the user may see, with its open findings,
// the articles breached, the penalty articles and fine ranges, and the next
// deadlines), the registry of each system, its workflows (filing, testing, moves,
// duties) and the PSB's inspections with the Art. 36 checklist pre-filled. The
// server decides what each organisation may see and record; this page offers what
// fits the user's organisation.
import { useContext, useEffect, useRef, useState } from "react";
import {
  addEntry, ApiError, changeEntry, changeSystem, complianceOverview, complianceReport, deleteEntry, inspectionChecklist, printableUrl,
  documentFileUrl, recordEvent, registerSystem, registrySystem, uploadDocumentFile,
  type ChecklistItem, type Fine, type Report, type RegistryView, type Session, type SystemSummary,
} from "./api";
import { LangContext, term, useT, useTerm, type Lang } from "./i18n";
import { useAsk } from "./Ask";
import { useDistricts, usePlaceTypes } from "./data";

const CATEGORIES = ["item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_7", "item_8", "outside_scope"];
const MATERIALS = [
  "filing_declaration_form", "design_plan", "compliance_demonstration_report", "completion_acceptance_report",
  "product_certification", "contractor_business_licence", "testing_report",
];
const DOCUMENT_KINDS = [...MATERIALS.filter((m) => m !== "testing_report"), "testing_report", "system_diagrams", "emergency_plan", "other"];
const DUTY_KINDS = ["completion_acceptance", "performance_assessment", "security_assessment", "training", "emergency_plan", "incident"];

/** A site category in words, with its article (Art. 9 ¶1). */
export const categoryLabel = (t: ReturnType<typeof useT>, c: string) =>
  t(`cat_${c}` as "cat_item_1") ?? c;
/** A value as a reader would write it: no `null`, no JSON. */
const shown = (t: ReturnType<typeof useT>, v: unknown, words: (id: string) => string): string =>
  v === null || v === undefined || v === "" ? "—"
    : typeof v === "boolean" ? (v ? t("yes") : t("no"))
    : Array.isArray(v) ? v.map((x) => shown(t, x, words)).join(", ")
    : typeof v === "object" ? Object.entries(v as Record<string, unknown>).map(([k, x]) => `${words(k)}: ${shown(t, x, words)}`).join(" · ")
    : String(v);
const TIERS = ["first_instance", "correction_refused", "serious_consequences"];
const rank = (tier: string | null) => (tier ? TIERS.indexOf(tier) : -1);
/** The report's status in words: compliant, findings, incomplete (rules not evaluated) or not in force (Art. 48). */
const statusWord = (s: string): "compliant" | "incomplete" | "notInForce" | "hasFindings" =>
  s === "compliant" ? "compliant" : s === "incomplete" ? "incomplete" : s === "not_in_force" ? "notInForce" : "hasFindings";
const today = () => {
  // The local (Shenzhen, UTC+08:00) calendar day, as the server counts.
  const d = new Date(Date.now() + 8 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
};
const money = (n: number) => n.toLocaleString("en-US");
/** A fine range: "unit 10,000–30,000 RMB (shall)", 单位 10,000–30,000 元（应当）. */
export const fineText = (lang: Lang) => (f: Fine) => lang === "zh-CN"
  ? `${term(lang, f.party)} ${money(f.min)}–${money(f.max)} 元（${term(lang, f.modality)}）`
  : `${term(lang, f.party)} ${money(f.min)}–${money(f.max)} RMB (${f.modality})`;

function message(e: unknown) {
  return e instanceof ApiError ? e.message : String((e as Error)?.message ?? e);
}

/** A district, chosen from the list (never typed: "Futian" and "futian" are one). */
function DistrictSelect({ value, onChange, testid, any }: { value: string; onChange: (v: string) => void; testid?: string; any: string }) {
  const lang = useContext(LangContext);
  const list = useDistricts();
  return (
    <select data-testid={testid} value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">{any}</option>
      {list.map((d) => <option key={d.id} value={d.id}>{lang === "zh-CN" ? d.zh : d.en}</option>)}
    </select>
  );
}

/** The rulebook's place types, and a place type's name in the reader's language. */
function usePlaces() {
  const lang = useContext(LangContext);
  const places = usePlaceTypes();
  const placeName = (id: string) => {
    const p = places.find((x) => x.id === id);
    return p ? (lang === "zh-CN" ? p.zh : p.en) : id;
  };
  return { places, placeName };
}

function useDistrictName() {
  const lang = useContext(LangContext);
  const list = useDistricts();
  return (id: string | null) => {
    const d = list.find((x) => x.id === id);
    return d ? (lang === "zh-CN" ? d.zh : d.en) : id ?? "";
  };
}

export function Compliance({ me }: { me: Session }) {
  const t = useT();
  const lang = useContext(LangContext);
  const [district, setDistrict] = useState("");
  const [systems, setSystems] = useState<SystemSummary[] | null>(null);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const manager = me.org_kind === "system_manager" && me.role === "admin";
  const districtName = useDistrictName();
  // Only the newest answer counts: an older one (another district) arriving late must
  // not overwrite it.
  const asked = useRef(0);
  const reload = () => {
    const n = ++asked.current;
    return complianceOverview(district || undefined)
      .then((s) => { if (n === asked.current) { setSystems(s); setError(""); } })
      .catch((e) => { if (n === asked.current) setError(message(e)); });
  };
  useEffect(() => { reload(); }, [district]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="compliance" data-testid="compliance">
      <div className="cmp-head">
        <h3>{me.org_kind === "public_security" ? t("psbView") : t("compliance")}</h3>
        <label>{t("district")} <DistrictSelect testid="cmp-district" value={district} onChange={setDistrict} any={t("allDistricts")} /></label>
      </div>
      {error && <div className="error" role="alert">{error}</div>}
      {systems && (systems.length === 0 ? <p>{t("noSystems")}</p> : (
        <table className="cmp-table" data-testid="cmp-systems">
          <thead><tr><th>{t("system")}</th><th>{t("district")}</th><th>{t("category")}</th><th>{t("status")}</th><th>{t("openFindings")}</th><th>{t("nextDeadline")}</th></tr></thead>
          <tbody>
            {systems.map((s) => (
              <tr key={s.id} data-system={s.id}>
                <td><button className="link" data-testid={`cmp-open-${s.id}`} onClick={() => setOpen(s.id)}>{s.name}</button><br /><small>{s.id}</small></td>
                <td>{districtName(s.district)}</td>
                <td>{categoryLabel(t, s.site_category)}</td>
                <td className={`status-${s.status}`} data-testid="cmp-status">{t(statusWord(s.status))}</td>
                <td>
                  {s.findings.map((f, i) => (
                    <div key={i} className="cmp-finding" data-rule={f.rule_id}>
                      <b>{f.cite}</b> → {f.penalty_cite ?? t("noPenalty")} · {f.summary}
                      {f.fines.length > 0 && <div className="fines">{f.fines_tier && f.fines_tier !== f.tier ? `${t("ifNotCorrected")}: ` : ""}{f.fines.map(fineText(lang)).join("; ")}</div>}
                    </div>
                  ))}
                </td>
                <td>{s.upcoming[0] ? `${s.upcoming[0].due} · ${s.upcoming[0].due_what}` : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      {manager && <RegisterSystem onDone={(id) => { reload(); setOpen(id); }} />}
      {open && <SystemDetail key={open} id={open} me={me} onChange={reload} />}
    </div>
  );
}

const TEXT_FIELDS = ["name", "address", "district", "owner", "user", "responsible_entity_agreed", "manager", "personal_security_purpose"] as const;
const FLAGS = ["installed", "state_owned", "existed_before_regulation", "internet_transmission", "internet_protection"] as const;

// Registers a system, or (with `initial`) changes its particulars.
function RegisterSystem({ onDone, initial }: { onDone: (id: string) => void; initial?: Record<string, unknown> }) {
  const t = useT();
  const str = (k: string) => (typeof initial?.[k] === "string" ? (initial[k] as string) : "");
  const [f, setF] = useState({
    id: str("id"), name: str("name"), address: str("address"), district: str("district"), site_category: str("site_category") || "item_4",
    owner: str("owner"), user: str("user"), responsible_entity_agreed: str("responsible_entity_agreed"), manager: str("manager"),
    personal_security_purpose: str("personal_security_purpose"),
  });
  const [flags, setFlags] = useState<Record<string, boolean>>(Object.fromEntries(FLAGS.map((k) => [k, initial ? initial[k] === true : k === "installed"])));
  const [error, setError] = useState("");
  const set = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setF({ ...f, [k]: e.target.value });
  return (
    <form className="cmp-form" data-testid={initial ? "cmp-change-form" : "cmp-register-form"} onSubmit={(e) => {
      e.preventDefault();
      const doc: Record<string, unknown> = { id: f.id, site_category: f.site_category, ...flags, log_retention_days: initial?.log_retention_days ?? undefined };
      for (const k of TEXT_FIELDS) if (f[k]) doc[k] = f[k];
      (initial ? changeSystem(f.id, doc) : registerSystem(doc)).then(() => { setError(""); onDone(f.id); }).catch((err) => setError(message(err)));
    }}>
      <h4>{initial ? t("changeParticulars") : t("registerSystem")}</h4>
      <label>{t("systemId")}<input data-testid={initial ? undefined : "sys-id"} value={f.id} onChange={set("id")} required readOnly={!!initial} /></label>
      <label>{t("name")}<input data-testid={initial ? undefined : "sys-name"} value={f.name} onChange={set("name")} required /></label>
      <label>{t("district")}<DistrictSelect testid={initial ? undefined : "sys-district"} value={f.district} onChange={(v) => setF({ ...f, district: v })} any="—" /></label>
      <label>{t("category")}<select data-testid={initial ? undefined : "sys-category"} value={f.site_category} onChange={set("site_category")}>
        {CATEGORIES.map((c) => <option key={c} value={c}>{categoryLabel(t, c)}</option>)}
      </select></label>
      <label>{t("address")}<input value={f.address} onChange={set("address")} /></label>
      <label>{t("owner")}<input value={f.owner} onChange={set("owner")} /></label>
      <label>{t("userOfSite")}<input value={f.user} onChange={set("user")} /></label>
      <label>{t("agreedEntity")}<input value={f.responsible_entity_agreed} onChange={set("responsible_entity_agreed")} /></label>
      <label>{t("manager")}<input value={f.manager} onChange={set("manager")} /></label>
      <label>{t("personalSecurityPurpose")}<input data-testid={initial ? undefined : "sys-purpose"} value={f.personal_security_purpose} onChange={set("personal_security_purpose")} /></label>
      {FLAGS.map((k) => (
        <label key={k}><input type="checkbox" data-flag={k} checked={flags[k]} onChange={(e) => setFlags({ ...flags, [k]: e.target.checked })} />{t(`flag_${k}` as "flag_installed")}</label>
      ))}
      <button type="submit" data-testid={initial ? "cmp-change" : "cmp-register"}>{initial ? t("save") : t("registerSystem")}</button>
      {error && <div className="error" role="alert" data-testid="cmp-error">{error}</div>}
    </form>
  );
}

function SystemDetail({ id, me, onChange }: { id: string; me: Session; onChange: () => void }) {
  const t = useT();
  const ask = useAsk();
  const words = useTerm();
  const districtName = useDistrictName();
  const { placeName } = usePlaces();
  const lang = useContext(LangContext);
  const [view, setView] = useState<RegistryView | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  // One page per system, in tabs; a PSB officer starts at the inspection.
  const [tab, setTab] = useState<string>(me.org_kind === "public_security" ? "inspections" : "findings");
  const [editing, setEditing] = useState<number | null>(null);
  const [error, setError] = useState("");
  const manager = me.org_kind === "system_manager" && me.role === "admin";
  const psb = me.org_kind === "public_security";
  const tester = me.org_kind === "testing_body";
  const reload = () => Promise.all([registrySystem(id), complianceReport(id)])
    .then(([v, r]) => { setView(v); setReport(r); })
    .catch((e) => setError(message(e)));
  useEffect(() => { reload(); }, [id]); // eslint-disable-line react-hooks/exhaustive-deps
  const act = (p: Promise<unknown>) => p.then(() => { setError(""); reload(); onChange(); }).catch((e) => setError(message(e)));
  if (!view || !report) return error ? <div className="error" role="alert">{error}</div> : null;
  const entries = (c: string) => view.entries.filter((e) => e.collection === c);

  return (
    <section className="cmp-detail" data-testid="cmp-detail">
      <h3>{report.system_name} <small>{report.system}</small></h3>
      <p>
        <span className={`status-${report.status}`} data-testid="cmp-detail-status">{t(statusWord(report.status))}</span>
        {" · "}{t("asOf")} {report.as_of} · {t("rulebook")} {report.rulebook_version}
        {report.responsible_entity && <> · {t("responsibleEntity")}: {report.responsible_entity.name} <small>({report.responsible_entity.basis})</small></>}
      </p>
      <p className="cmp-print">
        <a href={printableUrl(id, "filing")} target="_blank" rel="noreferrer" data-testid="cmp-print-filing">{t("printFiling")}</a>{" · "}
        <a href={printableUrl(id, "inspection")} target="_blank" rel="noreferrer" data-testid="cmp-print-inspection">{t("printInspection")}</a>
      </p>
      {error && <div className="error" role="alert" data-testid="cmp-error">{error}</div>}

      <div className="tabs" role="tablist" data-testid="cmp-tabs">
        {TABS.filter((k) => k !== "inspections" || psb).map((k) => (
          <button key={k} role="tab" aria-selected={tab === k} className={tab === k ? "on" : ""} data-testid={`tab-${k}`} onClick={() => setTab(k)}>
            {k === "findings" ? `${t("openFindings")} (${report.findings.length})` : COLLECTIONS.includes(k) ? `${t(`col_${k}` as "col_cameras")} (${entries(k).length})` : t(`tab_${k}` as "tab_particulars")}
          </button>
        ))}
      </div>
      <div role="tabpanel" hidden={tab !== "findings"} data-testid="panel-findings">
      <ul className="cmp-findings" data-testid="cmp-findings">
        {report.findings.map((f, i) => (
          <li key={i} data-rule={f.rule_id}>
            <b>{f.cite}</b> → {f.penalty_cite ?? t("noPenalty")} · {f.tier ? words(f.tier) : ""} {f.deadline && <>· {t("deadline")} {f.deadline}</>}
            {f.correction_deadline && <> · {t("correctBy")} {f.correction_deadline}</>}
            {f.fines.length > 0 && <div className="fines">{f.fines.map(fineText(lang)).join("; ")}</div>}
            {f.escalation.filter((e) => e.fines.length > 0 && rank(e.tier) > rank(f.tier)).map((e) => (
              <div key={e.tier} className="fines">{t("ifTier")} {words(e.tier)}: {e.fines.map(fineText(lang)).join("; ")}</div>
            ))}
            <div className="explanation">{f.explanation}</div>
          </li>
        ))}
      </ul>
      {report.upcoming.length > 0 && (<>
        <h4>{t("upcoming")}</h4>
        <ul data-testid="cmp-upcoming">{report.upcoming.map((u, i) => <li key={i} data-rule={u.rule_id}>{u.due} ({u.days_left} {t("days")}) · {u.subject.label} · {u.due_what}</li>)}</ul>
      </>)}
      {report.not_evaluated.map((n, i) => <p key={i} className="muted">{t("notEvaluated")}: {n.cite} — {n.subject ? `${n.subject.label}: ` : ""}{n.reason}</p>)}

      </div>
      <div role="tabpanel" hidden={tab !== "particulars"} data-testid="panel-particulars">
      <table className="cmp-table"><tbody>
        {Object.entries(view.system).map(([k, v]) => <tr key={k}><th>{words(k)}</th><td>{k === "site_category" ? categoryLabel(t, String(v)) : k === "district" ? districtName(String(v)) : shown(t, v, words)}</td></tr>)}
      </tbody></table>
      {manager && <div className="cmp-forms">
        <RegisterSystem key={JSON.stringify(view.system)} initial={view.system} onDone={() => { setError(""); reload(); onChange(); }} />
      </div>}
      </div>
      {COLLECTIONS.map((c) => (
        <div key={c} className="cmp-collection" data-testid={`cmp-${c}`} role="tabpanel" hidden={tab !== c}>
          <b>{t(`col_${c}` as "col_cameras")}</b> ({entries(c).length})
          <ul>{entries(c).map((e) => (
            <li key={e.id}>{editing === e.id ? <EntryEditor doc={e.doc} onCancel={() => setEditing(null)}
                onSave={(doc) => act(changeEntry(id, c, e.id, doc).then(() => setEditing(null)))} /> : Object.entries(e.doc).filter(([, v]) => v !== null && v !== false && !(Array.isArray(v) && v.length === 0)).map(([k, v]) => `${words(k)}: ${k === "location_type" ? placeName(String(v)) : shown(t, v, words)}`).join(" · ")}
              {manager && editing !== e.id && <button className="link" data-testid="edit-entry" onClick={() => setEditing(e.id)}>{t("edit")}</button>}
              {c === "documents" && typeof e.doc.sha256 === "string" &&
                <a className="link" href={documentFileUrl(id, e.id)} data-testid={`doc-file-${e.id}`}>{t("downloadFile")}</a>}
              {c === "documents" && manager &&
                <label className="upload">{t("attachFile")}<input type="file" data-testid={`doc-upload-${e.id}`}
                  onChange={(ev) => { const f = ev.target.files?.[0]; if (f) act(uploadDocumentFile(id, e.id, f)); }} /></label>}
              {manager && <button className="link" data-testid="remove-entry" onClick={() => {
                void ask.confirm(t("confirmRemoveEntry")).then((yes) => { if (yes) act(deleteEntry(id, c, e.id)); });
              }}>{t("remove")}</button>}</li>
          ))}</ul>
          {manager && <AddEntries id={id} recorder={view.recorder_cameras} act={act} only={c} />}
        </div>
      ))}
      <div role="tabpanel" hidden={tab !== "workflows"} data-testid="panel-workflows">
      <div className="cmp-forms">
        {manager && <Filing id={id} view={view} act={act} />}
        {manager && <DutyEvent id={id} act={act} />}
        {manager && <MoveOrRemoval id={id} act={act} />}
        {(manager || tester) && <TestingReport id={id} act={act} />}
      </div>

      </div>
      <div role="tabpanel" hidden={tab !== "inspections"} data-testid="panel-inspections">
        {psb && <AcknowledgeFiling id={id} view={view} act={act} />}
        {psb && <Inspection id={id} report={report} act={act} />}
      </div>
      <div role="tabpanel" hidden={tab !== "history"} data-testid="panel-history">
      <table className="cmp-table" data-testid="cmp-events"><tbody>
        {[...view.events].reverse().map((e) => (
          <tr key={e.id} data-kind={e.kind}><td>{e.date}</td><td>{words(e.kind)}</td><td>{Object.entries(e.doc).filter(([k]) => k !== "kind" && k !== "date").map(([k, v]) => `${words(k)}: ${Array.isArray(v) ? v.map((x) => words(String(x))).join(", ") : String(v)}`).join(" · ")}</td><td><small>{e.recorded_by}</small></td></tr>
        ))}
      </tbody></table>
      </div>
    </section>
  );
}

type Act = (p: Promise<unknown>) => void;

const COLLECTIONS = ["cameras", "products", "contractors", "testing_bodies", "documents", "persons"];
const TABS = ["findings", "particulars", ...COLLECTIONS, "workflows", "inspections", "history"];

/** An entry changed in place: each field as what it is (a box for yes/no, a list as
 * words separated by commas, a number, a text); saved with PUT, checked by the
 * rulebook like a new entry. */
function EntryEditor({ doc, onSave, onCancel }: { doc: Record<string, unknown>; onSave: (doc: Record<string, unknown>) => void; onCancel: () => void }) {
  const t = useT();
  const words = useTerm();
  const [d, setD] = useState<Record<string, unknown>>(doc);
  const fields = Object.entries(d).filter(([k, v]) => k !== "sha256" && k !== "file" && (v === null || typeof v !== "object" || Array.isArray(v)));
  return (
    <form className="cmp-form cmp-edit" data-testid="entry-editor" onSubmit={(e) => { e.preventDefault(); onSave(d); }}>
      {fields.map(([k, v]) => (
        <label key={k} data-field={k}>
          {typeof v === "boolean"
            ? <><input type="checkbox" checked={v} onChange={(e) => setD({ ...d, [k]: e.target.checked })} />{words(k)}</>
            : <>{words(k)}<input value={Array.isArray(v) ? v.join(", ") : v === null ? "" : String(v)} type={typeof v === "number" ? "number" : "text"}
                onChange={(e) => setD({ ...d, [k]: Array.isArray(v) ? e.target.value.split(",").map((x) => x.trim()).filter(Boolean)
                  : typeof v === "number" ? Number(e.target.value) : e.target.value })} /></>}
        </label>
      ))}
      <button type="submit" data-testid="entry-save">{t("save")}</button>
      <button type="button" onClick={onCancel}>{t("cancel")}</button>
    </form>
  );
}

function AddEntries({ id, recorder, act, only }: { id: string; recorder: string[]; act: Act; only: string }) {
  const t = useT();
  const { places, placeName } = usePlaces();
  const words = useTerm();
  const [cam, setCam] = useState({ id: "", location_type: "", recorder_camera: "", purpose: "", public_area: true, signage: true, network_interface: true, collects: false, planning_approval: "", key: false, retention: "30" });
  const [doc, setDoc] = useState({ kind: "design_plan", title: "" });
  const [person, setPerson] = useState({ name: "", role: "responsible" });
  const [product, setProduct] = useState({ name: "", in_certification_catalog: true, certification: "", quality_documents: "" });
  const [contractor, setContractor] = useState({ name: "", business_licence: "", licence_scope: "design, construction, maintenance", work: "construction" });
  const [tbody, setTbody] = useState({ name: "", qualified: true });
  const list = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
  const opt = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== ""));
  return (
    <div className="cmp-forms">
      {only === "cameras" && (
      <form className="cmp-form" onSubmit={(e) => {
        e.preventDefault();
        act(addEntry(id, "cameras", opt({
          id: cam.id, location_type: cam.location_type, recorder_camera: cam.recorder_camera, purpose: cam.purpose,
          public_area: cam.public_area, signage: cam.signage, network_interface: cam.network_interface,
          collects: cam.collects ? ["faces"] : [], planning_approval: cam.planning_approval, counter_terrorism_key_target: cam.key,
          // A recorded camera's retention comes from the recorder.
          retention_days: cam.recorder_camera || cam.retention === "" ? "" : Number(cam.retention),
        })));
      }}>
        <h5>{t("addCamera")}</h5>
        <label>{t("cameraId")}<input data-testid="cam-id" value={cam.id} onChange={(e) => setCam({ ...cam, id: e.target.value })} required /></label>
        <label>{t("locationType")}<input data-testid="cam-location" list="location-types" value={cam.location_type} onChange={(e) => setCam({ ...cam, location_type: e.target.value })} required /></label>
        <datalist id="location-types">{places.map((p) => <option key={p.id} value={p.id}>{placeName(p.id)}</option>)}</datalist>
        <label>{t("recordedAs")}<select data-testid="cam-recorder" value={cam.recorder_camera} onChange={(e) => setCam({ ...cam, recorder_camera: e.target.value })}>
          <option value="">—</option>{recorder.map((r) => <option key={r} value={r}>{r}</option>)}</select></label>
        {!cam.recorder_camera && <label>{t("retentionDays")}<input type="number" min="0" data-testid="cam-retention" value={cam.retention} onChange={(e) => setCam({ ...cam, retention: e.target.value })} /></label>}
        <label>{t("cameraPurpose")}<input value={cam.purpose} onChange={(e) => setCam({ ...cam, purpose: e.target.value })} /></label>
        <label><input type="checkbox" checked={cam.public_area} onChange={(e) => setCam({ ...cam, public_area: e.target.checked })} />{t("publicArea")}</label>
        <label><input type="checkbox" checked={cam.signage} onChange={(e) => setCam({ ...cam, signage: e.target.checked })} />{t("signage")}</label>
        <label><input type="checkbox" checked={cam.network_interface} onChange={(e) => setCam({ ...cam, network_interface: e.target.checked })} />{t("networkInterface")}</label>
        <label><input type="checkbox" checked={cam.key} onChange={(e) => setCam({ ...cam, key: e.target.checked })} />{t("keyTarget")}</label>
        <label><input type="checkbox" checked={cam.collects} onChange={(e) => setCam({ ...cam, collects: e.target.checked })} />{t("collectsFaces")}</label>
        <label>{t("planningApproval")}<input value={cam.planning_approval} onChange={(e) => setCam({ ...cam, planning_approval: e.target.value })} /></label>
        <button type="submit" data-testid="cmp-add-camera">{t("add")}</button>
      </form>
      )}
      {only === "documents" && (
      <form className="cmp-form" onSubmit={(e) => { e.preventDefault(); act(addEntry(id, "documents", { kind: doc.kind, title: doc.title })); }}>
        <h5>{t("addDocument")}</h5>
        <label>{t("kind")}<select data-testid="doc-kind" value={doc.kind} onChange={(e) => setDoc({ ...doc, kind: e.target.value })}>{DOCUMENT_KINDS.map((k) => <option key={k} value={k}>{words(k)}</option>)}</select></label>
        <label>{t("title")}<input data-testid="doc-title" value={doc.title} onChange={(e) => setDoc({ ...doc, title: e.target.value })} required /></label>
        <button type="submit" data-testid="cmp-add-document">{t("add")}</button>
      </form>
      )}
      {only === "persons" && (
      <form className="cmp-form" onSubmit={(e) => { e.preventDefault(); act(addEntry(id, "persons", person)); }}>
        <h5>{t("addPerson")}</h5>
        <label>{t("name")}<input data-testid="person-name" value={person.name} onChange={(e) => setPerson({ ...person, name: e.target.value })} required /></label>
        <label>{t("role")}<select data-testid="person-role" value={person.role} onChange={(e) => setPerson({ ...person, role: e.target.value })}>
          <option value="responsible">{t("roleResponsible")}</option><option value="maintenance">{t("roleMaintenance")}</option></select></label>
        <button type="submit" data-testid="cmp-add-person">{t("add")}</button>
      </form>
      )}
      {only === "products" && (
      <form className="cmp-form" onSubmit={(e) => { e.preventDefault(); act(addEntry(id, "products", opt(product))); }}>
        <h5>{t("addProduct")}</h5>
        <label>{t("name")}<input value={product.name} onChange={(e) => setProduct({ ...product, name: e.target.value })} required /></label>
        <label><input type="checkbox" checked={product.in_certification_catalog} onChange={(e) => setProduct({ ...product, in_certification_catalog: e.target.checked })} />{t("inCatalogue")}</label>
        <label>{t("certification")}<input value={product.certification} onChange={(e) => setProduct({ ...product, certification: e.target.value })} /></label>
        <label>{t("qualityDocuments")}<input value={product.quality_documents} onChange={(e) => setProduct({ ...product, quality_documents: e.target.value })} /></label>
        <button type="submit">{t("add")}</button>
      </form>
      )}
      {only === "testing_bodies" && (
      <form className="cmp-form" onSubmit={(e) => { e.preventDefault(); act(addEntry(id, "testing_bodies", tbody)); }}>
        <h5>{t("addTestingBody")}</h5>
        <label>{t("name")}<input value={tbody.name} onChange={(e) => setTbody({ ...tbody, name: e.target.value })} required /></label>
        <label><input type="checkbox" checked={tbody.qualified} onChange={(e) => setTbody({ ...tbody, qualified: e.target.checked })} />{t("qualified")}</label>
        <button type="submit">{t("add")}</button>
      </form>
      )}
      {only === "contractors" && (
      <form className="cmp-form" onSubmit={(e) => { e.preventDefault(); act(addEntry(id, "contractors", opt({ name: contractor.name, business_licence: contractor.business_licence, licence_scope: list(contractor.licence_scope), work: list(contractor.work) }))); }}>
        <h5>{t("addContractor")}</h5>
        <label>{t("name")}<input value={contractor.name} onChange={(e) => setContractor({ ...contractor, name: e.target.value })} required /></label>
        <label>{t("businessLicence")}<input value={contractor.business_licence} onChange={(e) => setContractor({ ...contractor, business_licence: e.target.value })} /></label>
        <label>{t("licenceScope")}<input value={contractor.licence_scope} onChange={(e) => setContractor({ ...contractor, licence_scope: e.target.value })} /></label>
        <label>{t("work")}<input value={contractor.work} onChange={(e) => setContractor({ ...contractor, work: e.target.value })} /></label>
        <button type="submit">{t("add")}</button>
      </form>
      )}
    </div>
  );
}

function Filing({ id, view, act }: { id: string; view: RegistryView; act: Act }) {
  const t = useT();
  const words = useTerm();
  const kept = new Set(view.entries.filter((e) => e.collection === "documents").map((e) => String(e.doc.kind)));
  const [date, setDate] = useState(today());
  const [materials, setMaterials] = useState<string[]>(MATERIALS.filter((m) => kept.has(m)));
  const toggle = (m: string) => setMaterials(materials.includes(m) ? materials.filter((x) => x !== m) : [...materials, m]);
  return (
    <form className="cmp-form" data-testid="cmp-filing" onSubmit={(e) => { e.preventDefault(); act(recordEvent(id, { kind: "filing", date, materials })); }}>
      <h5>{t("fileWithPsb")}</h5>
      {(() => {
        const { filed, acked } = filingState(view);
        return filed && <p data-testid="cmp-filing-state" className={acked ? "status-compliant" : "muted"}>
          {acked ? t("filingAcknowledgedOn", { filed, at: acked }) : t("filingAwaitsAck", { filed })}</p>;
      })()}
      <label>{t("day")}<input type="date" data-testid="filing-date" value={date} onChange={(e) => setDate(e.target.value)} /></label>
      <fieldset><legend>{t("materials")}</legend>
        {MATERIALS.map((m) => (
          <label key={m}><input type="checkbox" data-material={m} checked={materials.includes(m)} onChange={() => toggle(m)} />{words(m)}{kept.has(m) ? " ✓" : ""}</label>
        ))}
      </fieldset>
      <button type="submit" data-testid="cmp-file">{t("fileNow")}</button>
    </form>
  );
}

function DutyEvent({ id, act }: { id: string; act: Act }) {
  const t = useT();
  const words = useTerm();
  const [kind, setKind] = useState("completion_acceptance");
  const [date, setDate] = useState(today());
  const [reported, setReported] = useState("");
  return (
    <form className="cmp-form" data-testid="cmp-duty" onSubmit={(e) => {
      e.preventDefault();
      act(recordEvent(id, { kind, date, ...(kind === "incident" && reported ? { reported_to_psb: reported } : {}) }));
    }}>
      <h5>{t("recordEvent")}</h5>
      <label>{t("kind")}<select data-testid="duty-kind" value={kind} onChange={(e) => setKind(e.target.value)}>{DUTY_KINDS.map((k) => <option key={k} value={k}>{words(k)}</option>)}</select></label>
      <label>{t("day")}<input type="date" data-testid="duty-date" value={date} onChange={(e) => setDate(e.target.value)} /></label>
      {kind === "incident" && <label>{t("reportedToPsb")}<input type="date" value={reported} onChange={(e) => setReported(e.target.value)} /></label>}
      <button type="submit" data-testid="cmp-record">{t("record")}</button>
    </form>
  );
}

function MoveOrRemoval({ id, act }: { id: string; act: Act }) {
  const t = useT();
  const [f, setF] = useState({ date: today(), removal: false, reconstruction_plan: "", transition_plan: "", record_date: "" });
  return (
    <form className="cmp-form" onSubmit={(e) => {
      e.preventDefault();
      act(recordEvent(id, Object.fromEntries(Object.entries({ kind: "move_or_removal", ...f }).filter(([, v]) => v !== ""))));
    }}>
      <h5>{t("moveOrRemoval")}</h5>
      <label>{t("day")}<input type="date" value={f.date} onChange={(e) => setF({ ...f, date: e.target.value })} /></label>
      <label><input type="checkbox" checked={f.removal} onChange={(e) => setF({ ...f, removal: e.target.checked })} />{t("removal")}</label>
      <label>{t("reconstructionPlan")}<input value={f.reconstruction_plan} onChange={(e) => setF({ ...f, reconstruction_plan: e.target.value })} /></label>
      <label>{t("transitionPlan")}<input value={f.transition_plan} onChange={(e) => setF({ ...f, transition_plan: e.target.value })} /></label>
      <label>{t("recordDate")}<input type="date" value={f.record_date} onChange={(e) => setF({ ...f, record_date: e.target.value })} /></label>
      <button type="submit">{t("record")}</button>
    </form>
  );
}

function TestingReport({ id, act }: { id: string; act: Act }) {
  const t = useT();
  const [f, setF] = useState({ date: today(), passed: true, periodic: false, testing_body: "", copy_to_psb: "", deadline: "" });
  return (
    <form className="cmp-form" data-testid="cmp-testing" onSubmit={(e) => {
      e.preventDefault();
      act(recordEvent(id, Object.fromEntries(Object.entries({ kind: "testing_report", ...f }).filter(([, v]) => v !== ""))));
    }}>
      <h5>{t("testingReport")}</h5>
      <label>{t("day")}<input type="date" value={f.date} onChange={(e) => setF({ ...f, date: e.target.value })} /></label>
      <label><input type="checkbox" checked={f.passed} onChange={(e) => setF({ ...f, passed: e.target.checked })} />{t("passed")}</label>
      <label><input type="checkbox" checked={f.periodic} onChange={(e) => setF({ ...f, periodic: e.target.checked })} />{t("periodic")}</label>
      <label>{t("testingBody")}<input value={f.testing_body} onChange={(e) => setF({ ...f, testing_body: e.target.value })} /></label>
      <label>{t("copyToPsb")}<input type="date" value={f.copy_to_psb} onChange={(e) => setF({ ...f, copy_to_psb: e.target.value })} /></label>
      {!f.passed && <label>{t("correctBy")}<input type="date" value={f.deadline} onChange={(e) => setF({ ...f, deadline: e.target.value })} /></label>}
      <button type="submit">{t("record")}</button>
    </form>
  );
}

/** The latest filing, and the PSB's acknowledgement of it (on or after it), if any. */
function filingState(view: RegistryView) {
  const filings = view.events.filter((e) => e.kind === "filing").map((e) => e.date).sort();
  const filed = filings[filings.length - 1];
  const acked = filed ? view.events.filter((e) => e.kind === "filing_acknowledged" && e.date >= filed).map((e) => e.date).sort().pop() : undefined;
  return { filed, acked };
}

/** The district's PSB acknowledges that it received the filing (Art. 18). */
function AcknowledgeFiling({ id, view, act }: { id: string; view: RegistryView; act: Act }) {
  const t = useT();
  const { filed, acked } = filingState(view);
  const [date, setDate] = useState(today());
  if (!filed) return <p className="muted" data-testid="cmp-ack-none">{t("noFilingYet")}</p>;
  if (acked) return <p className="status-compliant" data-testid="cmp-acked">{t("filingAcknowledgedOn", { filed, at: acked })}</p>;
  return (
    <form className="cmp-form" data-testid="cmp-ack" onSubmit={(e) => { e.preventDefault(); act(recordEvent(id, { kind: "filing_acknowledged", date })); }}>
      <h5>{t("acknowledgeFilingOf", { filed })}</h5>
      <label>{t("day")}<input type="date" value={date} min={filed} onChange={(e) => setDate(e.target.value)} /></label>
      <button type="submit" data-testid="cmp-acknowledge">{t("acknowledge")}</button>
    </form>
  );
}

function Inspection({ id, report, act }: { id: string; report: Report; act: Act }) {
  const t = useT();
  const [items, setItems] = useState<ChecklistItem[] | null>(null);
  const [date, setDate] = useState(today());
  const [inspector, setInspector] = useState("");
  const [orders, setOrders] = useState<Record<string, string>>({});
  const rules = [...new Set(report.findings.map((f) => f.rule_id))];
  return (
    <form className="cmp-form wide" data-testid="cmp-inspection" onSubmit={(e) => {
      e.preventDefault();
      act((async () => {
        await recordEvent(id, { kind: "inspection", date, ...(inspector ? { inspector } : {}) });
        for (const [rule, deadline] of Object.entries(orders)) if (deadline) await recordEvent(id, { kind: "correction_notice", date, rule, deadline });
        setOrders({});
      })());
    }}>
      <h5>{t("inspection")}</h5>
      <button type="button" data-testid="cmp-checklist" onClick={() => inspectionChecklist(id).then((r) => setItems(r.checklist))}>{t("loadChecklist")}</button>
      {items && <table className="cmp-table" data-testid="cmp-checklist-table"><tbody>{items.map((i) => (
        <tr key={i.article}><th>{i.cite} {i.matter}</th><td>{i.facts.map((f, k) => <div key={k}>{f}</div>)}</td><td className={`status-${i.status === "ok" ? "compliant" : "findings"}`}>{i.findings.length ? i.findings.map((f, k) => <div key={k}>{f}</div>) : t("noFinding")}</td></tr>
      ))}</tbody></table>}
      <label>{t("day")}<input type="date" value={date} onChange={(e) => setDate(e.target.value)} /></label>
      <label>{t("inspector")}<input value={inspector} onChange={(e) => setInspector(e.target.value)} /></label>
      {rules.length > 0 && <fieldset><legend>{t("orderCorrections")}</legend>{rules.map((r) => (
        <label key={r}>{report.findings.find((f) => f.rule_id === r)?.summary ?? r} — {t("correctBy")} <input type="date" data-order={r} value={orders[r] ?? ""} onChange={(e) => setOrders({ ...orders, [r]: e.target.value })} /></label>
      ))}</fieldset>}
      <button type="submit" data-testid="cmp-inspect">{t("recordInspection")}</button>
    </form>
  );
}
