import { useCallback, useEffect, useState, type FormEvent } from "react";
import { PERMISSIONS, auth, errorText, inference, store, type Job, type Permission, type Stats, type User } from "../api/client";
import type { components } from "../api/generated/store";
import { bytes } from "../lib/format";

const PERMISSION_TEXT: Record<Permission, string> = {
  media_store_read: "View",
  media_store_write: "Upload and edit",
  ai_inference_support: "Search and analysis",
  ai_inference_worker: "Worker",
};

function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [perms, setPerms] = useState<Permission[]>(["media_store_read", "media_store_write", "ai_inference_support"]);

  const load = useCallback(async () => {
    const { data } = await auth.GET("/users/", {});
    setUsers(data ?? []);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  async function create(e: FormEvent) {
    e.preventDefault();
    const { error } = await auth.POST("/users/", { body: { username, password, permissions: perms, is_active: true, is_admin: false } });
    setNotice(error ? errorText(error) : `User ${username} created.`);
    if (!error) {
      setUsername("");
      setPassword("");
      void load();
    }
  }

  async function update(u: User, body: { is_active?: boolean; permissions?: Permission[] }) {
    setUsers((us) => us.map((x) => (x.id === u.id ? { ...x, ...body } : x))); // shown at once
    const { error } = await auth.PUT("/users/{user_id}", { params: { path: { user_id: u.id } }, body });
    setNotice(error ? errorText(error) : `${u.username} updated.`);
    void load();
  }

  return (
    <section aria-labelledby="users-h" className="card">
      <h2 id="users-h">Users</h2>
      {notice && <p role="status" className="notice">{notice}</p>}
      <div className="table-wrap">
        <table>
          <thead>
            <tr><th scope="col">User</th>{PERMISSIONS.map((p) => <th scope="col" key={p}>{PERMISSION_TEXT[p]}</th>)}<th scope="col">Active</th></tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.username}{u.is_admin && <span className="tag">admin</span>}</th>
                {PERMISSIONS.map((p) => (
                  <td key={p}>
                    <input type="checkbox" aria-label={`${u.username}: ${PERMISSION_TEXT[p]}`} checked={u.is_admin || u.permissions.includes(p)} disabled={u.is_admin}
                      onChange={(e) => void update(u, { permissions: e.target.checked ? [...u.permissions, p] as Permission[] : u.permissions.filter((x) => x !== p) as Permission[] })} />
                  </td>
                ))}
                <td>
                  <input type="checkbox" aria-label={`${u.username}: active`} checked={u.is_active} disabled={u.is_admin}
                    onChange={(e) => void update(u, { is_active: e.target.checked })} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form className="stack" onSubmit={create}>
        <h3>New user</h3>
        <div className="inline">
          <label>New username<input value={username} required autoComplete="off" onChange={(e) => setUsername(e.target.value)} /></label>
          <label>New password<input type="password" value={password} required minLength={8} autoComplete="new-password" onChange={(e) => setPassword(e.target.value)} /></label>
        </div>
        <fieldset className="inline">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" checked={perms.includes(p)} onChange={(e) => setPerms(e.target.checked ? [...perms, p] : perms.filter((x) => x !== p))} />
              {PERMISSION_TEXT[p]}
            </label>
          ))}
        </fieldset>
        <button type="submit" className="primary">Create user</button>
      </form>
    </section>
  );
}

function Jobs() {
  const [stats, setStats] = useState<Stats | null>(null);
  const [failed, setFailed] = useState<Job[]>([]);
  const load = useCallback(async () => {
    const [s, f] = await Promise.all([
      inference.GET("/admin/stats", {}),
      inference.GET("/job/", { params: { query: { status: "error", page_size: 50 } } }),
    ]);
    setStats(s.data ?? null);
    setFailed(f.data?.items ?? []);
  }, []);
  useEffect(() => {
    void load();
    const t = setInterval(() => void load(), 5000);
    return () => clearInterval(t);
  }, [load]);
  async function retry(job: Job) {
    await inference.POST("/job/{job_id}/retry", { params: { path: { job_id: job.job_id } } });
    void load();
  }
  return (
    <section aria-labelledby="jobs-h" className="card">
      <h2 id="jobs-h">Analysis jobs</h2>
      {stats ? (
        <>
          <ul className="stats">
            {Object.entries(stats.counts).map(([state, n]) => <li key={state}><strong>{n}</strong> {state}</li>)}
            <li><strong>{stats.workers.length}</strong> workers</li>
          </ul>
          {stats.oldest_pending_age_s != null && <p className="muted">Oldest waiting job: {Math.round(stats.oldest_pending_age_s)} s</p>}
        </>
      ) : (
        <p className="muted">The analysis service is not reachable.</p>
      )}
      <h3>Failed jobs</h3>
      {failed.length === 0 ? <p className="muted">No failed jobs.</p> : (
        <ul className="failed-jobs">
          {failed.map((j) => (
            <li key={j.job_id}>
              <span><strong>{j.task_type}</strong> for item {j.media_store_id}: {j.error_message ?? "unknown error"}</span>
              <button type="button" className="small" onClick={() => void retry(j)} aria-label={`Retry ${j.task_type} for item ${j.media_store_id}`}>Retry</button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

type Storage = components["schemas"]["StorageReport"];

function Settings() {
  const [readAuth, setReadAuth] = useState<boolean | null>(null);
  const [storage, setStorage] = useState<Storage | null>(null);
  const [free, setFree] = useState<number | null>(null);
  const [backfill, setBackfill] = useState<string | null>(null);
  useEffect(() => {
    void store.GET("/admin/config", {}).then(({ data }) => setReadAuth(data?.read_auth_enabled ?? null));
    void store.GET("/admin/storage", {}).then(({ data }) => setStorage(data ?? null));
    void store.GET("/health", {}).then(({ data }) => setFree(data?.free_disk_bytes ?? null));
  }, []);
  async function toggle(enabled: boolean) {
    setReadAuth(enabled); // shown at once, then what the store says
    const { data } = await store.PUT("/admin/config/read-auth", { body: { enabled } });
    setReadAuth(data ? data.read_auth_enabled : !enabled);
  }
  async function placeholders() {
    let after = 0;
    let updated = 0;
    for (;;) {
      setBackfill(`Computing placeholders… ${updated} so far`);
      const { data } = await store.POST("/admin/thumbhash", { params: { query: { after_id: after, limit: 500 } } });
      if (!data) return setBackfill("The placeholders could not be computed.");
      updated += data.updated;
      if (data.done) return setBackfill(`Placeholders computed for ${updated} older items.`);
      after = data.next_after_id ?? after;
    }
  }
  return (
    <section aria-labelledby="settings-h" className="card">
      <h2 id="settings-h">Library</h2>
      <label className="check">
        <input type="checkbox" checked={!!readAuth} disabled={readAuth === null} onChange={(e) => void toggle(e.target.checked)} />
        Require login to view photos
      </label>
      {storage && (
        <>
          <ul className="stats">
            <li><strong>{storage.entities}</strong> photos and videos</li>
            <li><strong>{storage.trashed_entities}</strong> in the trash</li>
            <li><strong>{storage.collections}</strong> albums</li>
          </ul>
          <p>
            Storage used: {bytes(storage.total_bytes)} ({bytes(storage.originals.bytes)} originals
            in {storage.originals.files} files, {bytes(storage.renditions.bytes)} thumbnails and previews)
          </p>
        </>
      )}
      <p className="muted">Free disk space: {free != null ? bytes(free) : "—"}</p>
      <p>
        <button type="button" onClick={() => void placeholders()}>Compute placeholders for older photos</button>{" "}
        {backfill && <span role="status">{backfill}</span>}
      </p>
    </section>
  );
}

export default function Admin() {
  return (
    <div className="page">
      <h1>Admin</h1>
      <div className="admin-grid">
        <Users />
        <Jobs />
        <Settings />
      </div>
    </div>
  );
}
