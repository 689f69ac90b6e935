import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

const NowContext = createContext<number | null>(null);

/** One clock for the whole dashboard, so relative times ("3 min ago") move on together. */
export function NowProvider({ children, tickMs = 15_000, fixed }: { children: ReactNode; tickMs?: number; fixed?: number }) {
  const [now, setNow] = useState(() => fixed ?? Date.now());
  useEffect(() => {
    if (fixed !== undefined) return;
    const timer = setInterval(() => setNow(Date.now()), tickMs);
    return () => clearInterval(timer);
  }, [tickMs, fixed]);
  return <NowContext.Provider value={fixed ?? now}>{children}</NowContext.Provider>;
}

export function useNow(): number {
  return useContext(NowContext) ?? Date.now();
}
