import { createContext, useContext, useEffect, useRef, type ReactNode } from "react";
import { accessToken } from "./api/session";

// Store changes pushed over SSE (/api/store/events), read with fetch so the token can be sent.
export interface ChangeEvent {
  entity_id?: number;
  op?: string;
  [key: string]: unknown;
}
type Listener = (event: ChangeEvent) => void;

const LiveContext = createContext<Set<Listener> | null>(null);

async function follow(listeners: Set<Listener>, signal: AbortSignal): Promise<void> {
  let connections = 0;
  while (!signal.aborted) {
    try {
      const token = await accessToken();
      const res = await fetch("/api/store/events", {
        headers: token ? { Authorization: `Bearer ${token}`, Accept: "text/event-stream" } : {},
        signal,
      });
      if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
      // After a lost connection (a sleeping laptop, a restarted server) catch up on what was missed.
      if (connections++ > 0) listeners.forEach((l) => l({ op: "reconnected" }));
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (!data) continue;
          try {
            const event = JSON.parse(data) as ChangeEvent;
            listeners.forEach((l) => l(event));
          } catch {
            /* not JSON: ignore */
          }
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 3000)); // reconnect
  }
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const listeners = useRef(new Set<Listener>()).current;
  useEffect(() => {
    const ctrl = new AbortController();
    void follow(listeners, ctrl.signal);
    return () => ctrl.abort();
  }, [listeners]);
  return <LiveContext.Provider value={listeners}>{children}</LiveContext.Provider>;
}

/** Call `listener` for every store change while the component is mounted. */
export function useLive(listener: Listener): void {
  const listeners = useContext(LiveContext);
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    if (!listeners) return;
    const l: Listener = (e) => ref.current(e);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, [listeners]);
}
