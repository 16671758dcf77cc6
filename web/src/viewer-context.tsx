import { createContext, useCallback, useContext, useRef, type ReactNode } from "react";
import { useSearchParams } from "react-router";

// The viewer opens over any page (?photo=ID), so closing it returns to the same scroll position.
interface ViewerState {
  open: (ids: number[], id: number) => void;
  neighbours: (id: number) => { prev: number | null; next: number | null };
  close: () => void;
  show: (id: number) => void;
}

const ViewerContext = createContext<ViewerState | null>(null);

export function ViewerProvider({ children }: { children: ReactNode }) {
  const [params, setParams] = useSearchParams();
  const list = useRef<number[]>([]);

  const show = useCallback(
    (id: number) =>
      setParams((p) => {
        const next = new URLSearchParams(p);
        next.set("photo", String(id));
        return next;
      }, { replace: params.has("photo") }),
    [setParams, params],
  );
  const open = useCallback((ids: number[], id: number) => {
    list.current = ids;
    show(id);
  }, [show]);
  const close = useCallback(
    () => setParams((p) => {
      const next = new URLSearchParams(p);
      next.delete("photo");
      return next;
    }),
    [setParams],
  );
  const neighbours = useCallback((id: number) => {
    const i = list.current.indexOf(id);
    if (i < 0) return { prev: null, next: null };
    return { prev: list.current[i - 1] ?? null, next: list.current[i + 1] ?? null };
  }, []);
  return (
    <ViewerContext.Provider value={{ open, neighbours, close, show }}>{children}</ViewerContext.Provider>
  );
}

export function useViewer(): ViewerState {
  const v = useContext(ViewerContext);
  if (!v) throw new Error("useViewer outside ViewerProvider");
  return v;
}
