// Pick and order the axes of a chart: the chosen keys as chips (move left/right, remove) and a list to add more.
import { keyLabel } from './axes';

export interface AxisChooserProps {
  all: string[];
  chosen: string[];
  onChange: (keys: string[]) => void;
  onReset?: () => void;
}

export function AxisChooser({ all, chosen, onChange, onReset }: AxisChooserProps) {
  const rest = all.filter((k) => !chosen.includes(k));
  const move = (i: number, d: number) => {
    const next = [...chosen];
    [next[i], next[i + d]] = [next[i + d], next[i]];
    onChange(next);
  };
  return (
    <div className="axis-chooser" data-testid="axis-chooser">
      {chosen.map((k, i) => (
        <span key={k} className="chip axis-chip" data-axis={k} title={k}>
          <button type="button" className="link" aria-label={`Move ${keyLabel(k)} left`} disabled={i === 0} onClick={() => move(i, -1)}>‹</button>
          <span className={k.startsWith('metrics.') ? 'kind-metric' : 'kind-param'}>{keyLabel(k)}</span>
          <button type="button" className="link" aria-label={`Move ${keyLabel(k)} right`} disabled={i === chosen.length - 1}
            onClick={() => move(i, 1)}>›</button>
          <button type="button" className="link" aria-label={`Remove axis ${keyLabel(k)}`} onClick={() => onChange(chosen.filter((c) => c !== k))}>×</button>
        </span>
      ))}
      <select aria-label="Add axis" value="" disabled={!rest.length} onChange={(e) => e.target.value && onChange([...chosen, e.target.value])}>
        <option value="">+ Add axis…</option>
        <KeyOptions keys={rest} />
      </select>
      {onReset && <button type="button" className="link" onClick={onReset}>Reset</button>}
    </div>
  );
}

/** `<option>`s for keys, grouped into params and metrics. */
export function KeyOptions({ keys }: { keys: string[] }) {
  const params = keys.filter((k) => k.startsWith('params.'));
  const metrics = keys.filter((k) => k.startsWith('metrics.'));
  return (
    <>
      {params.length > 0 && <optgroup label="Params">{params.map((k) => <option key={k} value={k}>{keyLabel(k)}</option>)}</optgroup>}
      {metrics.length > 0 && <optgroup label="Metrics">{metrics.map((k) => <option key={k} value={k}>{keyLabel(k)}</option>)}</optgroup>}
    </>
  );
}
