// The console's date-time field: the time typed in the console's one format
// (2026-12-01 16:30:00, 24-hour, the site's wall time, its zone beside it), or picked
// from a calendar (react-day-picker, in the console's language) with the time of day
// beside it. The browser's own `datetime-local` would show the browser's locale
// instead (12-hour in an English Chromium), and could not show the site's zone.
//
// The value is the site's wall time as `YYYY-MM-DDTHH:mm:ss` (see time.ts: toInput,
// fromInput); typing "T" or a space between date and time are both understood. While
// the text is not a real time the value is "" (no time: forms refuse it, filters drop
// it) and the input is invalid to the browser too, so a form will not submit.
import { lazy, Suspense, useContext, useEffect, useRef, useState } from "react";
import { LangContext, useT } from "./i18n";
import { fromInput, toInput, zoneLabel } from "./time";

const Calendar = lazy(() => import("./Calendar"));

const FORM = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

/** `value` as the field shows it ("2026-12-01 16:30:00"). */
const shown = (value: string) => value.replace("T", " ");

/** A typed text as a value, or null if it is not a real date and time. */
export function readDateTime(text: string): string | null {
  const m = FORM.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] ?? 0)];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  if (h > 23 || mi > 59 || s > 59) return null;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${m[1]}-${m[2]}-${m[3]}T${p(h)}:${p(mi)}:${p(s)}`;
}

export function DateTimeField({ value, onChange, testid, label }: {
  value: string; onChange: (v: string) => void; testid: string; label?: string;
}) {
  const t = useT();
  const lang = useContext(LangContext);
  const [draft, setDraft] = useState<string | null>(null);
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLSpanElement>(null);
  // An empty field is no time (a filter left open); the form decides if it may be.
  const bad = draft !== null && draft.trim() !== "" && readDateTime(draft) === null;
  // The calendar closes on Escape and on a click outside it.
  useEffect(() => {
    if (!open) return;
    const away = (e: MouseEvent) => { if (!box.current?.contains(e.target as Node)) setOpen(false); };
    const esc = (e: KeyboardEvent) => { if (e.key === "Escape") setOpen(false); };
    document.addEventListener("mousedown", away);
    document.addEventListener("keydown", esc);
    return () => { document.removeEventListener("mousedown", away); document.removeEventListener("keydown", esc); };
  }, [open]);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => { input.current?.setCustomValidity(bad ? t("dateTimeForm") : ""); }, [bad, t]);
  // The site's today (the calendar marks it; an empty field's clock picks on it).
  const now = FORM.exec(toInput(Date.now() / 1000))!;
  const today = new Date(+now[1], +now[2] - 1, +now[3]);
  const m = FORM.exec(value);
  const day = m ? new Date(+m[1], +m[2] - 1, +m[3]) : undefined;
  const clock = m ? `${m[4]}:${m[5]}:${m[6] ?? "00"}` : "00:00:00";
  const setDay = (d: Date | undefined) => {
    if (!d) return;
    const p = (n: number) => String(n).padStart(2, "0");
    setDraft(null);
    onChange(`${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${clock}`);
  };
  const setClock = (c: string) => {
    const d = m ?? now;
    const v = readDateTime(`${d[1]}-${d[2]}-${d[3]} ${c}`);
    if (v) { setDraft(null); onChange(v); }
  };
  const at = fromInput(value);
  return (
    <span className="datetime" ref={box}>
      <input ref={input} type="text" inputMode="numeric" spellCheck={false} data-testid={testid} aria-label={label}
        className={bad ? "invalid" : ""} aria-invalid={bad} placeholder={t("dateTimePlaceholder")} size={19}
        value={draft ?? shown(value)} title={bad ? t("dateTimeForm") : undefined}
        onChange={(e) => {
          setDraft(e.target.value);
          onChange(e.target.value.trim() === "" ? "" : readDateTime(e.target.value) ?? "");
        }}
        onBlur={() => { if (!bad) setDraft(null); }} />
      <button type="button" className="pick" aria-label={t("pickDate")} aria-expanded={open}
        data-testid={`${testid}-pick`} onClick={() => setOpen(!open)}>
        <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="1.5">
          <rect x="1.5" y="3" width="13" height="11.5" rx="1.5" /><path d="M1.5 6.5h13M5 1.5v3M11 1.5v3" />
        </svg>
      </button>
      <small className="zone" data-testid={`${testid}-zone`}>{zoneLabel(Number.isFinite(at) ? at : undefined)}</small>
      {bad && <small className="error" aria-live="polite" data-testid={`${testid}-error`}>{t("dateTimeForm")}</small>}
      {open && (
        <div className="calendar" role="dialog" aria-label={t("pickDate")} data-testid={`${testid}-calendar`}>
          <Suspense fallback={<div className="hint">…</div>}>
            <Calendar day={day} today={today} lang={lang} onSelect={setDay} />
          </Suspense>
          <span className="clock" role="group" aria-label={t("timeOfDay")}>{t("timeOfDay")}{" "}
            {[24, 60, 60].map((n, i) => (
              <select key={i} aria-label={[t("hour"), t("minute"), t("second")][i]} data-testid={`${testid}-clock-${i}`}
                value={clock.split(":")[i]}
                onChange={(e) => { const c = clock.split(":"); c[i] = e.target.value; setClock(c.join(":")); }}>
                {Array.from({ length: n }, (_, k) => String(k).padStart(2, "0")).map((v) => <option key={v}>{v}</option>)}
              </select>
            )).flatMap((el, i) => (i ? [<span key={`c${i}`}>:</span>, el] : [el]))}
          </span>
          <button type="button" data-testid={`${testid}-done`} onClick={() => { setDraft(null); setOpen(false); }}>{t("done")}</button>
        </div>
      )}
    </span>
  );
}
