// The month calendar of the date-time field (react-day-picker, in the console's
// language, weeks from Monday). Loaded only when a calendar is first opened, so the
// console's first load does not carry it.
import { DayPicker } from "react-day-picker";
import { enUS } from "react-day-picker/locale/en-US";
import { zhCN } from "react-day-picker/locale/zh-CN";
import "react-day-picker/style.css";
import type { Lang } from "./i18n";

export default function Calendar({ day, today, lang, onSelect }: {
  day: Date | undefined; today: Date; lang: Lang; onSelect: (d: Date | undefined) => void;
}) {
  // `today` is the site's (its zone may not be the browser's).
  return (
    <DayPicker mode="single" required selected={day} defaultMonth={day ?? today} today={today} onSelect={onSelect}
      locale={lang === "zh-CN" ? zhCN : enUS} weekStartsOn={1} captionLayout="dropdown"
      startMonth={new Date(2000, 0)} endMonth={new Date(new Date().getFullYear() + 1, 11)} />
  );
}
