import Timeline from "../components/Timeline";

export function Photos() {
  return (
    <div className="page">
      <h1 className="visually-hidden">Photos</h1>
      <Timeline filter={{}} empty={
        <div className="empty card">
          <h2>Your library is empty</h2>
          <p>Drop photos, videos or whole folders anywhere on this page, or choose them with <strong>Upload</strong> at the top.</p>
        </div>
      } />
    </div>
  );
}

export function Trash() {
  return (
    <div className="page">
      <h1>Trash</h1>
      <p className="muted">Open an item to restore it or delete it for good.</p>
      <Timeline filter={{ is_deleted: true }} empty={<p className="muted">The trash is empty.</p>} />
    </div>
  );
}

export function NotFound() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p><a href="/">Back to your photos</a></p>
    </div>
  );
}
