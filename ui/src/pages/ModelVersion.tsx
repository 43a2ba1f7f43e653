// One model version: stage (with a transition form), aliases, lineage (experiment -> run -> logged model -> version),
// description and tags (editable), and the signature read from the MLmodel file of the version's artifacts.
import { ReactNode, useEffect, useState } from 'react';
import { ApiError, errorMessage } from '../api/http';
import { ModelVersion, registryApi, STAGES } from '../api/registry';
import { api, Experiment, getLoggedModel, LoggedModel, Run } from '../api/tracking';
import { fmtTime } from '../format';
import { href } from '../router';
import { ErrorBox, Forbidden } from '../components/Common';
import { AliasEditor } from '../components/AliasEditor';
import { MarkdownEditor } from '../components/Markdown';
import { MLmodelSignature, parseMLmodel, parseSignature } from '../components/MLmodelView';
import { TagEditor } from '../components/TagEditor';
import { useAction } from '../components/useAction';
import { useLoad } from '../components/useLoad';
import { StageBadge } from './Models';

type MLmodelState = { text: string } | { missing: true } | { error: string } | null;

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const versionLoad = useLoad(() => registryApi.getVersion(name, version).then((r) => r.model_version), [name, version]);
  const modelLoad = useLoad(() => registryApi.getModel(name).then((r) => r.registered_model), [name]);
  const load = () => { versionLoad.reload(); modelLoad.reload(); };
  const mv = versionLoad.data ?? null;
  const model = modelLoad.data ?? null;
  const { error } = versionLoad;
  const { data: mlmodel = null } = useLoad((): Promise<MLmodelState> => registryApi.versionFile(name, version, 'MLmodel')
    .then((text) => ({ text }), (e) => (e instanceof ApiError && e.status === 404 ? { missing: true } : { error: errorMessage(e) })),
  [name, version]);
  const runId = mv?.run_id;
  const modelId = mv?.model_id;
  const { data: logged = null } = useLoad(() => (modelId ? getLoggedModel(modelId).then((r) => r.model, () => null) : undefined),
    [modelId]);
  const { data: run = null } = useLoad(() => (runId ? api.getRun(runId).then((r) => r.run, () => null) : undefined), [runId]);
  const experimentId = run?.info.experiment_id;
  const { data: experiment = null } = useLoad(
    () => (experimentId ? api.getExperiment(experimentId).then((x) => x.experiment) : undefined), [experimentId]);

  const modelHref = href(`/models/${encodeURIComponent(name)}`);
  if (versionLoad.forbidden) {
    return (
      <div className="page"><div className="crumbs"><a href="#/models">Models</a> / <a href={modelHref}>{name}</a> / Version {version}</div>
        <Forbidden message={versionLoad.error} /></div>
    );
  }
  return (
    <div className="page model-version">
      <div className="crumbs"><a href="#/models">Models</a> / <a href={modelHref}>{name}</a> / Version {version}</div>
      <h1>{name} <span className="muted">v{version}</span> {mv && <StageBadge stage={mv.current_stage} />}</h1>
      <ErrorBox error={error} />
      {mv && (
        <>
          <table className="kv overview"><tbody>
            <tr><th>Stage</th><td><StageForm mv={mv} onChanged={load} /></td></tr>
            <tr><th>Aliases</th><td>
              <AliasEditor model={name} version={version} aliases={model?.aliases || []}
                onSet={(a, v) => registryApi.setAlias(name, a, v)} onDelete={(a) => registryApi.deleteAlias(name, a)} onChanged={load} />
            </td></tr>
            <tr><th>Created</th><td>{fmtTime(mv.creation_timestamp)}{mv.user_id && <> by <strong>{mv.user_id}</strong></>}</td></tr>
            <tr><th>Last modified</th><td>{fmtTime(mv.last_updated_timestamp)}</td></tr>
            <tr><th>Status</th><td>{mv.status}{mv.status_message ? ` — ${mv.status_message}` : ''}</td></tr>
            <tr><th>Source</th><td className="mono">{mv.source}</td></tr>
          </tbody></table>
          <h3>Lineage</h3>
          <Lineage mv={mv} run={run} experiment={experiment} logged={logged} />
          <h3>Description</h3>
          <MarkdownEditor label="Version description" value={mv.description || ''}
            onSave={(text) => registryApi.updateVersion(name, version, text).then(load)} />
          <h3>Tags</h3>
          <TagEditor tags={mv.tags || []} onSet={(k, v) => registryApi.setVersionTag(name, version, k, v)}
            onDelete={(k) => registryApi.deleteVersionTag(name, version, k)} onChanged={load} />
          <h3>Signature</h3>
          <SignatureSection state={mlmodel} />
        </>
      )}
    </div>
  );
}

/** Change the stage; for Staging and Production, optionally archive the versions already there. */
function StageForm({ mv, onChanged }: { mv: ModelVersion; onChanged: () => void }) {
  const current = mv.current_stage || 'None';
  const [stage, setStage] = useState(current);
  const [archive, setArchive] = useState(false);
  const { busy, error, run } = useAction(onChanged);
  useEffect(() => setStage(current), [current]);
  const apply = () => run(
    () => registryApi.transitionStage(mv.name, mv.version, stage, archive && ['Staging', 'Production'].includes(stage)),
    () => setArchive(false));
  return (
    <div>
      <form className="toolbar" onSubmit={(e) => { e.preventDefault(); apply(); }}>
        <select aria-label="Stage" value={stage} onChange={(e) => setStage(e.target.value)}>
          {STAGES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        {['Staging', 'Production'].includes(stage) && (
          <label><input type="checkbox" checked={archive} onChange={(e) => setArchive(e.target.checked)} /> archive
            existing {stage} versions</label>
        )}
        <button type="submit" disabled={busy || stage === current}>Change stage</button>
      </form>
      <ErrorBox error={error} />
    </div>
  );
}

function Lineage({ mv, run, experiment, logged }:
  { mv: ModelVersion; run: Run | null; experiment: Experiment | null; logged: LoggedModel | null }) {
  const steps: { kind: string; body: ReactNode }[] = [];
  if (experiment) {
    steps.push({ kind: 'Experiment', body: <a href={href(`/experiments/${experiment.experiment_id}`)}>{experiment.name}</a> });
  }
  if (mv.run_id) {
    steps.push({ kind: 'Run', body: run
      ? <a href={href(`/runs/${mv.run_id}`)}>{run.info.run_name || mv.run_id}</a>
      : <span className="mono">{mv.run_id} <span className="muted">(not found)</span></span> });
  }
  if (mv.model_id) {
    const runOfModel = logged?.info.source_run_id || mv.run_id;
    const label = <>{logged?.info.name || 'model'} <span className="mono small muted">{mv.model_id}</span></>;
    steps.push({ kind: 'Logged model', body: runOfModel
      ? <a href={href(`/runs/${runOfModel}`, { tab: 'models', model: mv.model_id })}>{label}</a> : <span>{label}</span> });
  }
  steps.push({ kind: 'Model version', body: <span>{mv.name} v{mv.version}</span> });
  return (
    <div className="lineage" data-testid="lineage">
      {steps.map((s, i) => (
        <span key={s.kind} className="lineage-step-wrap">
          {i > 0 && <span className="lineage-arrow" aria-hidden>→</span>}
          <span className="lineage-step" data-kind={s.kind}><span className="muted small">{s.kind}</span>{s.body}</span>
        </span>
      ))}
      {!mv.run_id && !mv.model_id && <span className="muted small">Registered from {mv.source}, without a run.</span>}
    </div>
  );
}

function SignatureSection({ state }: { state: MLmodelState }) {
  if (state === null) return <p className="muted">Loading…</p>;
  if ('missing' in state) return <p className="muted">No MLmodel file in this version's artifacts.</p>;
  if ('error' in state) return <ErrorBox error={`Could not read the MLmodel file: ${state.error}`} />;
  let doc: any;
  try { doc = parseMLmodel(state.text); } catch (e) {
    return <ErrorBox error={`Could not parse the MLmodel file: ${errorMessage(e)}`} />;
  }
  const flavors = Object.keys(doc.flavors || {});
  return (
    <div>
      <MLmodelSignature sig={parseSignature(doc)} />
      <p className="small"><span className="muted">Flavors:</span> {flavors.length
        ? flavors.map((f) => <span key={f} className="chip mono">{f}</span>) : <span className="muted">none</span>}</p>
      <details><summary>MLmodel file</summary><pre className="artifact-text">{state.text}</pre></details>
    </div>
  );
}
