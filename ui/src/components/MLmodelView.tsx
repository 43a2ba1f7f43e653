// An MLmodel file (MLflow's model format) shown as flavors and a signature with inputs / outputs / params tables.
import { load } from 'js-yaml';
import { errorMessage } from '../api/http';
import { ErrorBox } from './Common';

export interface SpecRow { name: string; type: string; required: string; extra: string }
export interface Signature { inputs: SpecRow[] | null; outputs: SpecRow[] | null; params: SpecRow[] | null }

/** A column/tensor/param spec type as one readable string: `double`, `Tensor(float32, [-1, 4])`, `Array(string)`. */
export function typeString(spec: any): string {
  if (spec === null || spec === undefined) return '';
  if (typeof spec === 'string') return spec;
  if (spec.type === 'tensor' || spec['tensor-spec']) {
    const t = spec['tensor-spec'] || {};
    return `Tensor(${t.dtype ?? '?'}, [${(t.shape || []).join(', ')}])`;
  }
  if (spec.type === 'array') return `Array(${typeString(spec.items)})`;
  if (spec.type === 'object') {
    const props = Object.entries(spec.properties || {}).map(([k, v]: [string, any]) => `${k}${v.required === false ? '?' : ''}: ${typeString(v)}`);
    return `{${props.join(', ')}}`;
  }
  if (spec.type === 'map') return `Map(string -> ${typeString(spec.values)})`;
  return String(spec.type ?? '');
}

function specRows(raw: unknown, isParams = false): SpecRow[] | null {
  if (raw === undefined || raw === null || raw === '') return null;
  let items: any;
  try { items = typeof raw === 'string' ? JSON.parse(raw) : raw; } catch { return null; }
  if (!Array.isArray(items)) return null;
  return items.map((s: any, i: number) => ({
    name: s.name ?? (items.length === 1 ? '(unnamed)' : `[${i}]`),
    type: typeString(s),
    required: isParams ? '' : s.type === 'tensor' ? '—' : s.required === false ? 'optional' : 'required',
    extra: isParams
      ? [s.default !== undefined ? `default: ${JSON.stringify(s.default)}` : '', s.shape ? `shape: [${s.shape.join(', ')}]` : ''].filter(Boolean).join('; ')
      : '',
  }));
}

/** The signature of a parsed MLmodel (its `inputs`/`outputs`/`params` are JSON strings inside the YAML). */
export function parseSignature(mlmodel: any): Signature | null {
  const sig = mlmodel?.signature;
  if (!sig) return null;
  return { inputs: specRows(sig.inputs), outputs: specRows(sig.outputs), params: specRows(sig.params, true) };
}

export function parseMLmodel(text: string): any {
  const doc = load(text);
  if (!doc || typeof doc !== 'object') throw new Error('MLmodel is not a YAML mapping');
  return doc;
}

function SpecTable({ title, rows, params = false }: { title: string; rows: SpecRow[] | null; params?: boolean }) {
  return (
    <div className="sig-block">
      <h4>{title}</h4>
      {rows === null ? <p className="muted">None.</p> : (
        <table className={`grid sig-${title.toLowerCase()}`}>
          <thead><tr><th>Name</th><th>Type</th><th>{params ? 'Default / shape' : 'Required'}</th></tr></thead>
          <tbody>{rows.map((r, i) => (
            <tr key={i}><td className="mono">{r.name}</td><td className="mono">{r.type}</td><td>{params ? r.extra : r.required}</td></tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}

const FLAVOR_FIELDS = ['loader_module', 'python_version', 'sklearn_version', 'transformers_version', 'torch_version',
  'pickled_model', 'serialization_format', 'code', 'model_path', 'data', 'task', 'instance_type'];

export function MLmodelSignature({ sig }: { sig: Signature | null }) {
  if (!sig) return <p className="muted">This model has no signature.</p>;
  return (
    <div className="signature" data-testid="signature">
      <SpecTable title="Inputs" rows={sig.inputs} />
      <SpecTable title="Outputs" rows={sig.outputs} />
      {sig.params && <SpecTable title="Params" rows={sig.params} params />}
    </div>
  );
}

export function MLmodelView({ text }: { text: string }) {
  let doc: any;
  try { doc = parseMLmodel(text); } catch (e) {
    return <div><ErrorBox error={`Could not parse MLmodel: ${errorMessage(e)}`} /><pre className="artifact-text">{text}</pre></div>;
  }
  const flavors: [string, any][] = Object.entries(doc.flavors || {});
  const meta: [string, unknown][] = [
    ['Model ID', doc.model_id], ['Run ID', doc.run_id], ['Artifact path', doc.artifact_path], ['Created', doc.utc_time_created],
    ['MLflow version', doc.mlflow_version], ['Size', doc.model_size_bytes !== undefined ? `${doc.model_size_bytes} bytes` : undefined],
  ];
  return (
    <div className="mlmodel" data-testid="mlmodel">
      <table className="kv"><tbody>
        {meta.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => <tr key={k}><th>{k}</th><td className="mono">{String(v)}</td></tr>)}
      </tbody></table>
      <h4>Flavors</h4>
      <div className="flavors">
        {flavors.length === 0 ? <p className="muted">No flavors.</p> : flavors.map(([name, f]) => (
          <div key={name} className="flavor" data-flavor={name}>
            <strong className="mono">{name}</strong>
            {f && typeof f === 'object' && (
              <div className="small">
                {Object.entries(f).filter(([k]) => FLAVOR_FIELDS.includes(k) || typeof f[k] !== 'object').slice(0, 8).map(([k, v]) => (
                  <div key={k}><span className="muted">{k}:</span> <span className="mono">{String(v)}</span></div>
                ))}
                {f.env && typeof f.env === 'object' && <div><span className="muted">env:</span> <span className="mono">{Object.values(f.env).join(', ')}</span></div>}
              </div>
            )}
          </div>
        ))}
      </div>
      <h4>Signature</h4>
      <MLmodelSignature sig={parseSignature(doc)} />
      {doc.saved_input_example_info && <p className="muted small">Input example: {doc.saved_input_example_info.artifact_path}</p>}
      <details><summary>MLmodel file</summary><pre className="artifact-text">{text}</pre></details>
    </div>
  );
}
