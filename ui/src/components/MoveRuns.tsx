// The bulk "move runs to another experiment" bar of the runs table (mltrail's /runs/move endpoint).
import { useEffect, useState } from 'react';
import { errorMessage } from '../api/http';
import { api, runsApi } from '../api/tracking';
import { useLoad } from './useLoad';

export function MoveRunsBar({ runIds, experimentIds, onMoved, onError, onClose }: {
  runIds: string[]; experimentIds: string[]; onMoved: (message: string) => void; onError: (message: string) => void;
  onClose: () => void;
}) {
  const [target, setTarget] = useState('');
  const [busy, setBusy] = useState(false);
  const single = experimentIds.length === 1 ? experimentIds[0] : null;
  const { data: targets, error } = useLoad(() => api.searchExperiments('', 'ACTIVE_ONLY')
    .then((r) => (r.experiments || []).sort((a, b) => a.name.localeCompare(b.name))), []);
  useEffect(() => {
    if (targets) setTarget((cur) => cur || targets.find((e) => e.experiment_id !== single)?.experiment_id || '');
  }, [targets]);
  useEffect(() => { if (error) onError(error); }, [error]);
  const n = runIds.length;
  const move = async () => {
    const exp = targets?.find((e) => e.experiment_id === target);
    if (!exp || !n) return;
    setBusy(true);
    try {
      await runsApi.moveRuns(runIds, exp.experiment_id);
      onMoved(`Moved ${n} run${n === 1 ? '' : 's'} (with their child runs) to "${exp.name}".`);
    } catch (e) { onError(errorMessage(e)); } finally { setBusy(false); }
  };
  return (
    <div className="toolbar move-bar" role="group" aria-label="Move runs">
      <span>Move {n} selected run{n === 1 ? '' : 's'} to</span>
      <select aria-label="Target experiment" value={target} onChange={(e) => setTarget(e.target.value)} disabled={!targets}>
        {(targets || []).map((e) => (
          <option key={e.experiment_id} value={e.experiment_id} disabled={e.experiment_id === single}>
            {e.name} ({e.experiment_id})</option>))}
      </select>
      <button disabled={!target || !n || busy} onClick={move}>{busy ? 'Moving…' : 'Move runs'}</button>
      <button onClick={onClose}>Cancel</button>
    </div>
  );
}
