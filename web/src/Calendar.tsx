// The month calendar of the date-time field (react-day-picker, in the console's
// language, weeks from Monday). Loaded only when a calendar is first opened, so the
// console's first load does not carry it.
import { DayPicker } from "react-day-picker";
import { enUS } from "react-day-picker/locale/en-US";
import { zhCN } from "react-day-picker/locale/zh-CN";
import "react-day-picker/style.css";
import type { Lang } from "./i18n";

export default function Calendar({ day, lang, onSelect }: {
  day: Date | undefined; lang: Lang; onSelect: (d: Date | undefined) => void;
}) {
  return (
    <DayPicker mode="single" required selected={day} defaultMonth={day} onSelect={onSelect}
      locale={lang === "zh-CN" ? zhCN : enUS} weekStartsOn={1} captionLayout="dropdown"
      startMonth={new Date(2000, 0)} endMonth={new Date(new Date().getFullYear() + 1, 11)} />
  );
}
