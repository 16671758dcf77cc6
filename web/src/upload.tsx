import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { accessToken, refresh } from "./api/session";
import { bytes } from "./lib/format";

// Uploads stream each File from disk with XMLHttpRequest (upload progress events); the page never
// reads a file into memory, so large videos are fine.
export type UploadState = "waiting" | "uploading" | "done" | "duplicate" | "failed";

export interface UploadTask {
  key: number;
  file: File;
  name: string;
  loaded: number;
  state: UploadState;
  entityId?: number;
  error?: string;
}

interface UploadApi {
  add: (files: File[], parentId?: number | null) => void;
}

const UploadContext = createContext<UploadApi | null>(null);
const PARALLEL = 2;
export const CHANGED = "medianest:changed";

function send(file: File, parentId: number | null | undefined, token: string | null,
  onProgress: (loaded: number) => void): Promise<{ status: number; body: { id?: number; detail?: unknown } }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/store/entity/");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText) as object;
      } catch {
        /* empty */
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("network error"));
    const form = new FormData();
    form.append("is_collection", "false");
    if (parentId != null) form.append("parent_id", String(parentId));
    form.append("image", file, file.name);
    xhr.send(form);
  });
}

export function UploadProvider({ children }: { children: ReactNode }) {
  const [tasks, setTasks] = useState<UploadTask[]>([]);
  const queue = useRef<{ key: number; parentId?: number | null }[]>([]);
  const running = useRef(0);
  const nextKey = useRef(1);
  const files = useRef(new Map<number, File>());

  const update = useCallback((key: number, patch: Partial<UploadTask>) => {
    setTasks((ts) => ts.map((t) => (t.key === key ? { ...t, ...patch } : t)));
  }, []);

  const pump = useCallback(() => {
    while (running.current < PARALLEL && queue.current.length) {
      const job = queue.current.shift()!;
      const file = files.current.get(job.key)!;
      running.current += 1;
      update(job.key, { state: "uploading" });
      void (async () => {
        try {
          let res = await send(file, job.parentId, await accessToken(), (loaded) => update(job.key, { loaded }));
          if (res.status === 401 && (await refresh())) {
            res = await send(file, job.parentId, await accessToken(), (loaded) => update(job.key, { loaded }));
          }
          if (res.status === 201 || res.status === 200) {
            update(job.key, { state: res.status === 201 ? "done" : "duplicate", loaded: file.size, entityId: res.body.id });
            window.dispatchEvent(new CustomEvent(CHANGED));
          } else {
            const d = res.body.detail;
            update(job.key, { state: "failed", error: typeof d === "string" ? d : `HTTP ${res.status}` });
          }
        } catch (e) {
          update(job.key, { state: "failed", error: (e as Error).message });
        } finally {
          files.current.delete(job.key);
          running.current -= 1;
          pump();
        }
      })();
    }
  }, [update]);

  const add = useCallback((list: File[], parentId?: number | null) => {
    const fresh = list.map((file) => ({
      key: nextKey.current++, file, name: file.webkitRelativePath || file.name, loaded: 0, state: "waiting" as const,
    }));
    fresh.forEach((t) => {
      files.current.set(t.key, t.file);
      queue.current.push({ key: t.key, parentId });
    });
    setTasks((ts) => [...ts, ...fresh]);
    pump();
  }, [pump]);

  const clear = () => setTasks((ts) => ts.filter((t) => t.state === "waiting" || t.state === "uploading"));

  return (
    <UploadContext.Provider value={{ add }}>
      {children}
      {tasks.length > 0 && <UploadPanel tasks={tasks} onClear={clear} />}
    </UploadContext.Provider>
  );
}

export function useUpload(): UploadApi {
  const u = useContext(UploadContext);
  if (!u) throw new Error("useUpload outside UploadProvider");
  return u;
}

const STATE_TEXT: Record<UploadState, string> = {
  waiting: "Waiting",
  uploading: "Uploading",
  done: "Uploaded",
  duplicate: "Already in your library",
  failed: "Failed",
};

function UploadPanel({ tasks, onClear }: { tasks: UploadTask[]; onClear: () => void }) {
  const [open, setOpen] = useState(true);
  const total = tasks.reduce((s, t) => s + t.file.size, 0);
  const loaded = tasks.reduce((s, t) => s + Math.min(t.loaded, t.file.size), 0);
  const active = tasks.filter((t) => t.state === "waiting" || t.state === "uploading").length;
  const finished = tasks.length - active;
  return (
    <section className="upload-panel card" aria-label="Uploads">
      <header>
        <h2 aria-live="polite">{active ? `Uploading: ${finished} of ${tasks.length} done` : `Uploads finished (${tasks.length})`}</h2>
        <button type="button" className="ghost" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? "Hide" : "Show"}
        </button>
        {!active && <button type="button" className="ghost" onClick={onClear}>Clear</button>}
      </header>
      <label className="progress-label">
        Total {bytes(loaded)} of {bytes(total)}
        <progress aria-label="Total upload progress" max={total || 1} value={loaded} />
      </label>
      {open && (
        <ul>
          {tasks.map((t) => (
            <li key={t.key} className={`upload-${t.state}`}>
              <span className="upload-name" title={t.name}>{t.name}</span>
              <progress aria-label={`Progress of ${t.name}`} max={t.file.size || 1} value={Math.min(t.loaded, t.file.size)} />
              <span className="upload-state">
                {t.state === "duplicate" && t.entityId ? (
                  <Link to={`?photo=${t.entityId}`}>Already in your library</Link>
                ) : t.state === "done" && t.entityId ? (
                  <Link to={`?photo=${t.entityId}`}>Uploaded</Link>
                ) : (
                  STATE_TEXT[t.state]
                )}
                {t.error && `: ${t.error}`}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Files dropped on the page, folders included (walked recursively). */
export async function droppedFiles(data: DataTransfer): Promise<File[]> {
  const entries = Array.from(data.items)
    .map((i) => (i.kind === "file" ? i.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (!entries.length) return Array.from(data.files);
  const out: File[] = [];
  async function walk(entry: FileSystemEntry): Promise<void> {
    if (entry.isFile) {
      out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  }
  for (const e of entries) await walk(e);
  return out.filter((f) => !f.name.startsWith("."));
}
