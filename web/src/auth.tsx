import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { auth, type User } from "./api/client";
import * as session from "./api/session";

interface AuthState {
  me: User | null;
  loading: boolean;
  signIn: (username: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<User | null>(null);
  const [loading, setLoading] = useState(session.hasSession());

  const loadMe = useCallback(async () => {
    const { data } = await auth.GET("/users/me");
    setMe(data ?? null);
    setLoading(false);
  }, []);

  useEffect(() => {
    if (session.hasSession()) void loadMe();
    return session.onSessionLost(() => setMe(null));
  }, [loadMe]);

  const signIn = useCallback(
    async (username: string, password: string) => {
      await session.login(username, password);
      await loadMe();
    },
    [loadMe],
  );
  const signOut = useCallback(async () => {
    await session.logout();
    setMe(null);
  }, []);

  return <AuthContext.Provider value={{ me, loading, signIn, signOut }}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** Pages behind a login: without a session, go to /login and come back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { me, loading } = useAuth();
  const location = useLocation();
  if (loading) return <p className="center muted" role="status">Loading…</p>;
  if (!me) return <Navigate to="/login" replace state={{ from: location }} />;
  return children;
}
