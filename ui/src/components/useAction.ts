// Run one server action at a time from a form: `busy` while it runs, the server's message in `error` when it fails.
// (Reading data is `useLoad`'s job, beside this.)
import { useState } from 'react';
import { errorMessage } from '../api/http';

export function useAction(onDone: () => void = () => undefined) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Run `action`; on success clear the error, call `after`, then `onDone` (e.g. reload). */
  const run = (action: () => Promise<unknown>, after: () => void = () => undefined) => {
    setBusy(true);
    action().then(() => { setError(null); after(); onDone(); })
      .catch((e) => setError(errorMessage(e))).finally(() => setBusy(false));
  };
  return { busy, error, setError, run };
}
