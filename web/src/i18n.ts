// UI strings in English and Simplified Chinese. Every visible string goes through t().
import { createContext, useContext } from "react";

export type Lang = "en" | "zh-CN";

const en = {
  appName: "Vidimus",
  alarm_disk_full: "Disk full — recording paused",
  alarm_capacity: "Storage capacity",
  alarm_other: "Alarm",
  since: "since",
  live: "Live",
  playback: "Playback",
  logout: "Log out",
  login: "Log in",
  username: "User name",
  password: "Password",
  loginFailed: "Wrong user name or password",
  rateLimited: "Too many failed attempts; try again later",
  cameras: "Cameras",
  layout: "Layout",
  recording: "recording",
  offline: "offline",
  starting: "starting",
  waiting: "Waiting for video…",
  noCamera: "Select a camera in the tree",
  unsupportedCodec: "This browser cannot play {codec} video. Configure an H.264 sub-stream for live view.",
  connectionLost: "Connection lost; reconnecting…",
  camera: "Camera",
  date: "Date and time",
  go: "Go",
  zoomIn: "Zoom in",
  zoomOut: "Zoom out",
  recorded: "Recorded",
  gap: "Gap",
  speed: "Speed",
  stepBack: "Previous frame",
  stepForward: "Next frame",
  playPause: "Play / pause",
  export: "Export",
  exportTitle: "Export a range as MP4",
  from: "From",
  to: "To",
  download: "Download MP4",
  cancel: "Cancel",
  holds: "Legal holds",
  placeHold: "Place legal hold (reason = purpose)",
  holdPlaced: "Legal hold placed",
  release: "Release",
  noHolds: "No active legal holds",
  reason: "Reason",
  placedBy: "Placed by",
  purpose: "Purpose (required for a bundle)",
  recipient: "Recipient (required: registered)",
  destination: "Destination (e.g. case file)",
  bundle: "Verifiable bundle",
  bundling: "Making the bundle…",
  bundleReady: "Bundle ready, signed by key",
  clickToPlay: "Click on the timeline to play from that time",
  shortcuts: "Space: play/pause · ← →: frame step · 1 2 4: speed",
  language: "Language",
};

type Key = keyof typeof en;

const zh: Record<Key, string> = {
  appName: "Vidimus",
  alarm_disk_full: "磁盘已满——录像已暂停",
  alarm_capacity: "存储容量",
  alarm_other: "告警",
  since: "开始于",
  live: "实时",
  playback: "回放",
  logout: "退出登录",
  login: "登录",
  username: "用户名",
  password: "密码",
  loginFailed: "用户名或密码错误",
  rateLimited: "失败次数过多，请稍后再试",
  cameras: "摄像机",
  layout: "布局",
  recording: "录像中",
  offline: "离线",
  starting: "启动中",
  waiting: "等待视频…",
  noCamera: "请在左侧选择摄像机",
  unsupportedCodec: "此浏览器无法播放 {codec} 视频。请为实时预览配置 H.264 子码流。",
  connectionLost: "连接中断，正在重连…",
  camera: "摄像机",
  date: "日期和时间",
  go: "跳转",
  zoomIn: "放大",
  zoomOut: "缩小",
  recorded: "已录像",
  gap: "录像中断",
  speed: "速度",
  stepBack: "上一帧",
  stepForward: "下一帧",
  playPause: "播放 / 暂停",
  export: "导出",
  exportTitle: "导出时间段为 MP4",
  from: "开始",
  to: "结束",
  download: "下载 MP4",
  cancel: "取消",
  holds: "法律保全",
  placeHold: "设置法律保全（理由即用途）",
  holdPlaced: "已设置法律保全",
  release: "解除",
  noHolds: "没有生效的法律保全",
  reason: "理由",
  placedBy: "设置人",
  purpose: "用途（证据包必填）",
  recipient: "接收人（必填，将登记）",
  destination: "去向（如案卷）",
  bundle: "可验证证据包",
  bundling: "正在生成证据包…",
  bundleReady: "证据包已生成，签名密钥指纹",
  clickToPlay: "点击时间轴，从该时刻开始播放",
  shortcuts: "空格：播放/暂停 · ← →：逐帧 · 1 2 4：速度",
  language: "语言",
};

const tables: Record<Lang, Record<Key, string>> = { en, "zh-CN": zh };

export function translate(lang: Lang, key: Key, vars: Record<string, string> = {}): string {
  let s = tables[lang][key];
  for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, v);
  return s;
}

export const LangContext = createContext<Lang>("en");

export function useT() {
  const lang = useContext(LangContext);
  return (key: Key, vars?: Record<string, string>) => translate(lang, key, vars);
}
