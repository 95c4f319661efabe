// Asking the user: a modal <dialog> (the browser's own: focus moves into it and stays,
// Esc cancels, the page behind is inert and hidden from assistive technology), in the
// console's language, in place of window.confirm / window.prompt.
import { createContext, useContext, useEffect, useRef, useState } from "react";
import { useT } from "./i18n";

interface Question { message: string; input: boolean; done: (answer: string | null) => void }
type AskFn = (message: string, input: boolean) => Promise<string | null>;
const AskContext = createContext<AskFn>(() => Promise.resolve(null));

/** `confirm(message)` → true if confirmed; `prompt(message)` → the text, or null. */
export function useAsk() {
  const ask = useContext(AskContext);
  return {
    confirm: (message: string) => ask(message, false).then((a) => a !== null),
    prompt: (message: string) => ask(message, true),
  };
}

export function AskProvider({ children }: { children: React.ReactNode }) {
  const t = useT();
  const [q, setQ] = useState<Question | null>(null);
  const [text, setText] = useState("");
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (q && d && !d.open) d.showModal();
  }, [q]);
  const ask: AskFn = (message, input) => new Promise((done) => { setText(""); setQ({ message, input, done }); });
  const answer = (a: string | null) => {
    if (!q) return;
    q.done(a);
    setQ(null);
    dialog.current?.close();
  };
  return (
    <AskContext.Provider value={ask}>
      {children}
      {q && (
        <dialog ref={dialog} className="ask" data-testid="ask" aria-labelledby="ask-message"
          onCancel={(e) => { e.preventDefault(); answer(null); }}>
          <form method="dialog" onSubmit={(e) => { e.preventDefault(); answer(q.input ? (text.trim() || null) : ""); }}>
            <p id="ask-message">{q.message}</p>
            {q.input && <input autoFocus data-testid="ask-input" aria-labelledby="ask-message" value={text} onChange={(e) => setText(e.target.value)} />}
            <div className="ask-buttons">
              <button type="button" data-testid="ask-cancel" onClick={() => answer(null)}>{t("cancel")}</button>
              <button type="submit" data-testid="ask-ok" autoFocus={!q.input} disabled={q.input && !text.trim()}>{t("ok")}</button>
            </div>
          </form>
        </dialog>
      )}
    </AskContext.Provider>
  );
}
