import { createContext, useCallback, useContext, useRef, type ReactNode } from "react";
import { useSearchParams } from "react-router";

// The viewer opens over any page (?photo=ID), so closing it returns to the same scroll position.
export interface ViewerEntry {
  id: number;
  v?: string | number | null; // content token: the preview URL the browser may already have
}

interface ViewerState {
  open: (list: ViewerEntry[], id: number) => void;
  token: (id: number) => string | number | null | undefined;
  neighbours: (id: number) => { prev: number | null; next: number | null };
  close: () => void;
  show: (id: number) => void;
}

const ViewerContext = createContext<ViewerState | null>(null);

export function ViewerProvider({ children }: { children: ReactNode }) {
  const [params, setParams] = useSearchParams();
  const list = useRef<ViewerEntry[]>([]);

  const show = useCallback(
    (id: number) =>
      setParams((p) => {
        const next = new URLSearchParams(p);
        next.set("photo", String(id));
        return next;
      }, { replace: params.has("photo") }),
    [setParams, params],
  );
  const open = useCallback((entries: ViewerEntry[], id: number) => {
    list.current = entries;
    show(id);
  }, [show]);
  const token = useCallback((id: number) => list.current.find((e) => e.id === id)?.v, []);
  const close = useCallback(
    () => setParams((p) => {
      const next = new URLSearchParams(p);
      next.delete("photo");
      return next;
    }),
    [setParams],
  );
  const neighbours = useCallback((id: number) => {
    const i = list.current.findIndex((e) => e.id === id);
    if (i < 0) return { prev: null, next: null };
    return { prev: list.current[i - 1]?.id ?? null, next: list.current[i + 1]?.id ?? null };
  }, []);
  return (
    <ViewerContext.Provider value={{ open, token, neighbours, close, show }}>{children}</ViewerContext.Provider>
  );
}

export function useViewer(): ViewerState {
  const v = useContext(ViewerContext);
  if (!v) throw new Error("useViewer outside ViewerProvider");
  return v;
}
