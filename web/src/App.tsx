// The console shell: login, then the views (live, playback, requests, holds, masks, register,
// compliance, sharing); English / 简体中文.
import { useEffect, useState } from "react";
import { ApiError, chooseLanguage, login, logout, requests as fetchRequests, session, setApiLang, siteStatus, type Session } from "./api";
import { setSiteZone } from "./time";
import { useLocation } from "wouter";
import { LangContext, translate, type Lang } from "./i18n";
import { Live } from "./Live";
import { Playback } from "./Playback";
import { Sync } from "./Sync";
import { AskProvider } from "./Ask";
import { Alarms } from "./Alarms";
import { Holds } from "./Holds";
import { Masks } from "./Masks";
import { Register } from "./Register";
import { Requests, waitingForMe } from "./Requests";
import { Compliance } from "./Compliance";
import { Publish } from "./Publish";
import { Sharing } from "./Sharing";
import { useGrants } from "./data";

export function App() {
  const [lang, setLangState] = useState<Lang>(() => {
    const l = (localStorage.getItem("lang") as Lang) || "en";
    setApiLang(l);
    return l;
  });
  const [me, setMe] = useState<Session | null | undefined>(undefined);
  // Every view has a URL (/live, /playback/gate-1?t=…, /requests, …): a moment can be
  // sent as a link, and back and forward work.
  const [location, navigate] = useLocation();
  const VIEWS = ["live", "playback", "sync", "publish", "holds", "masks", "requests", "register", "compliance", "sharing"] as const;
  type View = (typeof VIEWS)[number];
  const first = location.split("/")[1] ?? "";
  const view: View = (VIEWS as readonly string[]).includes(first) ? (first as View) : "live";
  const setView = (v: View) => navigate(`/${v}`);
  const t = (k: Parameters<typeof translate>[1]) => translate(lang, k);

  // Every time is shown in the site's zone: known before any view renders.
  const [zoneKnown, setZoneKnown] = useState(false);
  useEffect(() => { session().then(setMe).catch(() => setMe(null)); }, []);
  // The language is kept with the session, so what the server writes (alarms,
  // findings, errors, printable reports) follows it.
  const setLang = (l: Lang) => {
    setApiLang(l);
    setLangState(l);
    if (me) chooseLanguage(l).catch(() => {});
  };
  useEffect(() => {
    if (me && me.lang !== lang) chooseLanguage(lang).catch(() => {});
  }, [me]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (!me) return;
    siteStatus().then((s) => setSiteZone(s.time_zone)).catch(() => {}).finally(() => setZoneKnown(true));
  }, [me]);
  // Requests waiting for this user's confirmation: a sign in the navigation, so the
  // second officer knows without looking.
  const [waiting, setWaiting] = useState(0);
  // On a phone the navigation collapses behind a menu button.
  const [menu, setMenu] = useState(false);
  const countWaiting = () => fetchRequests().then((l) => setWaiting(waitingForMe(l))).catch(() => {});
  useEffect(() => {
    if (!me) return;
    countWaiting();
    const i = window.setInterval(countWaiting, 15000);
    return () => window.clearInterval(i);
  }, [me]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => { localStorage.setItem("lang", lang); document.documentElement.lang = lang; }, [lang]);

  const langSwitch = (
    <select aria-label={t("language")} value={lang} onChange={(e) => setLang(e.target.value as Lang)} data-testid="lang">
      <option value="en">English</option>
      <option value="zh-CN">简体中文</option>
    </select>
  );

  return (
    <LangContext.Provider value={lang}>
      <AskProvider>
      {me === undefined ? null : me === null ? (
        <Login onLogin={setMe} langSwitch={langSwitch} />
      ) : (
        <div className="app">
          <header className={menu ? "menu-open" : ""}>
            <b>{t("appName")}</b>
            <button className="menu-toggle" aria-label={t("menu")} aria-expanded={menu} data-testid="menu-toggle"
              onClick={() => setMenu(!menu)}>☰</button>
            <nav onClick={() => setMenu(false)}>
              <button data-view="live" className={view === "live" ? "on" : ""} onClick={() => setView("live")}>{t("live")}</button>
              <button data-view="playback" className={view === "playback" ? "on" : ""} onClick={() => setView("playback")}>{t("playback")}</button>
              <button data-view="sync" className={view === "sync" ? "on" : ""} data-testid="nav-sync" onClick={() => setView("sync")}>{t("sync")}</button>
              <PublishNav on={view === "publish"} onClick={() => setView("publish")} label={t("publish")} />
              <button data-view="requests" className={view === "requests" ? "on" : ""} onClick={() => setView("requests")}>{t("requests")}
                {waiting > 0 && <span className="badge" data-testid="nav-waiting" title={t("waitsForYou")}>{waiting} {t("toConfirm")}</span>}</button>
              {me.role === "admin" && <button data-view="holds" className={view === "holds" ? "on" : ""} onClick={() => setView("holds")}>{t("holds")}</button>}
              {me.role === "admin" && me.org_kind === "system_manager" && <button data-view="masks" className={view === "masks" ? "on" : ""} data-testid="nav-masks" onClick={() => setView("masks")}>{t("masks")}</button>}
              {me.role === "admin" && <button data-view="register" className={view === "register" ? "on" : ""} onClick={() => setView("register")}>{t("register")}</button>}
              <button data-view="sharing" className={view === "sharing" ? "on" : ""} data-testid="nav-sharing" onClick={() => setView("sharing")}>{t("sharing")}</button>
              {["system_manager", "public_security", "testing_body"].includes(me.org_kind) &&
                <button data-view="compliance" className={view === "compliance" ? "on" : ""} data-testid="nav-compliance" onClick={() => setView("compliance")}>{t("compliance")}</button>}
            </nav>
            <span className="spacer" />
            {langSwitch}
            <span className="user">{me.username}</span>
            <button onClick={() => logout().finally(() => setMe(null))}>{t("logout")}</button>
          </header>
          <Alarms key={lang} />
          <main>{!zoneKnown ? null : view === "live" ? <Live onFileRequest={() => setView("requests")} /> : view === "playback" ? <Playback admin={me.role === "admin"} username={me.username} cameraName={decodeURIComponent(location.split("/")[2] ?? "")} />
            : view === "sync" ? <Sync />
            : view === "publish" ? <Publish key={lang} />
            : view === "requests" ? <Requests key={lang} me={me} onChange={countWaiting} /> : view === "register" ? <Register key={lang} />
            : view === "compliance" ? <Compliance key={lang} me={me} />
            : view === "sharing" ? <Sharing key={lang} me={me} />
            : view === "masks" ? <Masks key={lang} /> : <Holds key={lang} />}</main>
        </div>
      )}
      </AskProvider>
    </LangContext.Provider>
  );
}

function Login({ onLogin, langSwitch }: { onLogin: (s: Session) => void; langSwitch: React.ReactNode }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [totp, setTotp] = useState("");
  const [error, setError] = useState("");
  const lang = (localStorage.getItem("lang") as Lang) || "en";
  const t = (k: Parameters<typeof translate>[1]) => translate(lang, k);
  return (
    <form className="login" onSubmit={(e) => {
      e.preventDefault();
      login(username, password, totp).then(onLogin).catch((err) =>
        setError(err instanceof ApiError && err.code === "rate_limited"
          ? (err.retryAfter ? translate(lang, "rateLimitedWait", { secs: String(err.retryAfter) }) : t("rateLimited"))
          : err instanceof ApiError && err.code === "totp_required" ? t("totpRequired") : t("loginFailed")));
    }}>
      <h1>{t("appName")}</h1>
      <label>{t("username")}<input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} /></label>
      <label>{t("password")}<input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} /></label>
      <label>{t("totp")}<input name="totp" inputMode="numeric" autoComplete="one-time-code" value={totp} onChange={(e) => setTotp(e.target.value)} /></label>
      <button type="submit">{t("login")}</button>
      {error && <div className="error" role="alert">{error}</div>}
      {langSwitch}
    </form>
  );
}

/** The way to publication, shown to holders of a grant for it (Art. 31). */
function PublishNav({ on, onClick, label }: { on: boolean; onClick: () => void; label: string }) {
  const grants = useGrants().data ?? [];
  if (!on && !grants.some((g) => g.actions.includes("publish"))) return null;
  return <button data-view="publish" data-testid="nav-publish" className={on ? "on" : ""} onClick={onClick}>{label}</button>;
}
