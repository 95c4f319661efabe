// Time as the console shows it: one format everywhere, 24-hour, in the site's time
// zone (`[site] time_zone`, from /api/status; Shenzhen's is Asia/Shanghai, UTC+08:00),
// with the zone beside it — whatever the browser's own zone is. The server stores and
// exchanges UTC; date-time inputs are read as the site's wall time.
import { useContext } from "react";
import { LangContext, type Lang } from "./i18n";

let zone = "Asia/Shanghai";

/** Sets the site's zone (once, from /api/status). */
export function setSiteZone(z: string) {
  zone = z;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function parts(sec: number): Record<string, string> {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    });
    formatters.set(zone, f);
  }
  return Object.fromEntries(f.formatToParts(new Date(sec * 1000)).map((p) => [p.type, p.value]));
}

/** The site's offset from UTC at `sec`, in seconds. */
function offset(sec: number): number {
  const p = parts(Math.floor(sec));
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second) / 1000;
  return wall - Math.floor(sec);
}

/** "UTC+08:00" at `sec`. */
export function zoneLabel(sec = Date.now() / 1000): string {
  const o = Math.round(offset(sec) / 60);
  const a = Math.abs(o);
  return `UTC${o < 0 ? "−" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

/** 14:05:03 */
export function formatTime(sec: number): string {
  const p = parts(sec);
  return `${p.hour}:${p.minute}:${p.second}`;
}

/** 2026-12-01 14:05:03, or 2026年12月01日 14:05:03 in Chinese. */
export function formatDateTime(sec: number, lang: Lang = "en"): string {
  const p = parts(sec);
  const day = lang === "zh-CN" ? `${p.year}年${p.month}月${p.day}日` : `${p.year}-${p.month}-${p.day}`;
  return `${day} ${p.hour}:${p.minute}:${p.second}`;
}

/** The same with the zone: "2026-12-01 14:05:03 UTC+08:00". */
export function formatDateTimeZone(sec: number, lang: Lang = "en"): string {
  return `${formatDateTime(sec, lang)} ${zoneLabel(sec)}`;
}

/** A `datetime-local` input's value for `sec`, in the site's wall time. */
export function toInput(sec: number): string {
  const p = parts(sec);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}

/** Seconds since the epoch of a `datetime-local` value read as the site's wall time
 * (NaN if it is not one). */
export function fromInput(v: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(v);
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0)) / 1000;
  // The offset at the guess, then at the result (right across a DST change too).
  const first = wall - offset(wall);
  return wall - offset(first);
}

/** Formatting bound to the console's language. */
export function useTime() {
  const lang = useContext(LangContext);
  return {
    dateTime: (sec: number) => formatDateTime(sec, lang),
    dateTimeZone: (sec: number) => formatDateTimeZone(sec, lang),
    time: formatTime,
    zone: zoneLabel,
  };
}
