import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Route, Routes } from "react-router";
import { AuthProvider, RequireAuth } from "./auth";
import Layout from "./components/Layout";
import { LiveProvider } from "./live";
import Admin from "./pages/Admin";
import { AlbumPage, AlbumsPage } from "./pages/Albums";
import Duplicates from "./pages/Duplicates";
import Login from "./pages/Login";
import People, { PersonPage } from "./pages/People";
import Search from "./pages/Search";
import { NotFound, Photos, Trash } from "./pages/Simple";
import { UploadProvider } from "./upload";
import { ViewerProvider } from "./viewer-context";
import "./styles.css";

function App() {
  return (
    <AuthProvider>
      <Routes>
        <Route path="/login" element={<Login />} />
        <Route element={
          <RequireAuth>
            <LiveProvider>
              <UploadProvider>
                <ViewerProvider>
                  <Layout />
                </ViewerProvider>
              </UploadProvider>
            </LiveProvider>
          </RequireAuth>
        }>
          <Route index element={<Photos />} />
          <Route path="albums" element={<AlbumsPage />} />
          <Route path="albums/:id" element={<AlbumPage />} />
          <Route path="search" element={<Search />} />
          <Route path="people" element={<People />} />
          <Route path="people/:id" element={<PersonPage />} />
          <Route path="duplicates" element={<Duplicates />} />
          <Route path="trash" element={<Trash />} />
          <Route path="admin" element={<Admin />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </AuthProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <App />
    </BrowserRouter>
  </StrictMode>,
);
