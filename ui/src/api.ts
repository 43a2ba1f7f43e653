// A thin client for mltrail's MLflow-compatible REST API. Paths are relative so the UI works behind a prefix.
export const API = 'ajax-api/2.0/mlflow';
// mltrail's extensions beyond MLflow's API.
export const EXT_API = 'ajax-api/2.0/mltrail';

export interface KV { key: string; value: string }
export interface Metric { key: string; value: number; timestamp: number; step: number; run_id?: string }
export interface Experiment {
  experiment_id: string; name: string; artifact_location?: string; lifecycle_stage: string;
  creation_time?: number; last_update_time?: number; tags?: KV[];
}
export interface RunInfo {
  run_id: string; run_name?: string; experiment_id: string; user_id?: string; status: string;
  start_time?: number; end_time?: number; artifact_uri?: string; lifecycle_stage: string;
}
export interface Run { info: RunInfo; data: { metrics?: Metric[]; params?: KV[]; tags?: KV[] }; inputs?: any }
export interface FileInfo { path: string; is_dir?: boolean; file_size?: number }

export class ApiError extends Error {
  constructor(message: string, public code?: string, public status?: number) { super(message); }
}

async function handle<T>(res: Response): Promise<T> {
  const text = await res.text();
  let body: any = {};
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text }; }
  if (!res.ok) throw new ApiError(body.message || res.statusText, body.error_code, res.status);
  return body as T;
}

export function query(params: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function get<T = any>(path: string, params: Record<string, unknown> = {}, base = API): Promise<T> {
  return handle<T>(await fetch(`${base}/${path}${query(params)}`));
}

export async function post<T = any>(path: string, body: unknown, method = 'POST', base = API): Promise<T> {
  return handle<T>(await fetch(`${base}/${path}`, {
    method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  }));
}

export const api = {
  searchExperiments: (filter: string, viewType: string) =>
    post<{ experiments?: Experiment[] }>('experiments/search', {
      max_results: 1000, filter: filter || undefined, view_type: viewType, order_by: ['last_update_time DESC'],
    }),
  getExperiment: (id: string) => get<{ experiment: Experiment }>('experiments/get', { experiment_id: id }),
  createExperiment: (name: string) => post<{ experiment_id: string }>('experiments/create', { name }),
  renameExperiment: (id: string, name: string) => post('experiments/update', { experiment_id: id, new_name: name }),
  deleteExperiment: (id: string) => post('experiments/delete', { experiment_id: id }),
  restoreExperiment: (id: string) => post('experiments/restore', { experiment_id: id }),
  searchRuns: (experimentIds: string[], filter: string, orderBy: string[], pageToken?: string, maxResults = 200,
    viewType = 'ACTIVE_ONLY') =>
    post<{ runs?: Run[]; next_page_token?: string }>('runs/search', {
      experiment_ids: experimentIds, filter: filter || undefined, order_by: orderBy.length ? orderBy : undefined,
      page_token: pageToken || undefined, max_results: maxResults, run_view_type: viewType,
    }),
  getRun: (id: string) => get<{ run: Run }>('runs/get', { run_id: id }),
  setTag: (runId: string, key: string, value: string) => post('runs/set-tag', { run_id: runId, key, value }),
  deleteRun: (id: string) => post('runs/delete', { run_id: id }),
  restoreRun: (id: string) => post('runs/restore', { run_id: id }),
  listArtifacts: (runId: string, path?: string) =>
    get<{ root_uri?: string; files?: FileInfo[] }>('artifacts/list', { run_id: runId, path }),
  // mltrail's own endpoint: per step bucket the first, last, min and max points (M4), so spikes stay visible.
  historyDownsampled: (runIds: string[], key: string, maxPoints = 1000) =>
    get<{ metrics?: Metric[] }>('metrics/get-history-downsampled',
      { run_ids: runIds, metric_key: key, max_points: maxPoints }, EXT_API),
};

export function artifactUrl(runId: string, path: string): string {
  return `${API}/get-artifact${query({ run_id: runId, path })}`;
}

// ---------------------------------------------------------------------------------------- formatting
export function fmtTime(ms?: number): string {
  if (!ms) return '';
  const d = new Date(Number(ms));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(start?: number, end?: number): string {
  if (!start) return '';
  const ms = Number(end || Date.now()) - Number(start);
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

export function fmtValue(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
  }
  return String(v);
}

export function fmtBytes(n?: number): string {
  if (n === undefined || n === null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

// ---------------------------------------------------------------------------------------- runs table, run page

export interface LoggedModel {
  info: {
    model_id: string; experiment_id: string; name?: string; artifact_uri?: string; model_type?: string;
    source_run_id?: string; status?: string; creation_timestamp_ms?: number; last_updated_timestamp_ms?: number;
    tags?: KV[]; registrations?: { name: string; version: string }[]; creator_id?: string;
  };
  data?: { params?: KV[]; metrics?: Metric[] };
}

/** A string literal of the search language: single quotes, backslash escapes. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export const runsApi = {
  /** Move runs (and their child runs) to another experiment: mltrail's own endpoint. */
  moveRuns: (runIds: string[], experimentId: string) =>
    post('runs/move', { run_ids: runIds, experiment_id: experimentId }, 'POST', EXT_API),
  /** Fresh copies of the given runs (for live updates of running rows). */
  runsByIds: (experimentIds: string[], runIds: string[]) =>
    api.searchRuns(experimentIds, `attributes.run_id IN (${runIds.map(sqlString).join(', ')})`, [], undefined,
      Math.max(1, runIds.length), 'ALL'),
  /** Child runs of one parent, matching the table's filter. */
  childRuns: (experimentIds: string[], parentId: string, filter: string, orderBy: string[]) => {
    const own = `tags.mlflow.parentRunId = ${sqlString(parentId)}`;
    return api.searchRuns(experimentIds, filter ? `(${filter}) AND ${own}` : own, orderBy, undefined, 1000);
  },
  deleteTag: (runId: string, key: string) => post('runs/delete-tag', { run_id: runId, key }),
  loggedModelsOfRun: (experimentId: string, runId: string) =>
    post<{ models?: LoggedModel[] }>('logged-models/search', {
      experiment_ids: [experimentId], filter: `source_run_id = ${sqlString(runId)}`, max_results: 100,
    }),
  listLoggedModelArtifacts: (modelId: string, path?: string) =>
    get<{ root_uri?: string; files?: FileInfo[] }>(`logged-models/${encodeURIComponent(modelId)}/artifacts/directories`,
      { artifact_directory_path: path }),
};

export function loggedModelArtifactUrl(modelId: string, path: string): string {
  return `${API}/logged-models/${encodeURIComponent(modelId)}/artifacts/files${query({ artifact_file_path: path })}`;
}

// ---------------------------------------------------------------------------------------- model registry
export interface RegisteredModel {
  name: string; description?: string; creation_timestamp?: number; last_updated_timestamp?: number;
  tags?: KV[]; aliases?: { alias: string; version: string }[]; latest_versions?: ModelVersion[];
}
export interface ModelVersion {
  name: string; version: string; description?: string; creation_timestamp?: number; last_updated_timestamp?: number;
  current_stage?: string; source?: string; run_id?: string; run_link?: string; status?: string; status_message?: string;
  user_id?: string; tags?: KV[]; aliases?: string[]; model_id?: string;
}

/** The stages MLflow's registry knows, in the order a model moves through them. */
export const STAGES = ['None', 'Staging', 'Production', 'Archived'];

export const registryApi = {
  searchModels: (filter: string, orderBy: string[], pageToken?: string, maxResults = 25) =>
    get<{ registered_models?: RegisteredModel[]; next_page_token?: string }>('registered-models/search', {
      filter: filter || undefined, order_by: orderBy, page_token: pageToken, max_results: maxResults,
    }),
  getModel: (name: string) => get<{ registered_model: RegisteredModel }>('registered-models/get', { name }),
  updateModel: (name: string, description: string) =>
    post<{ registered_model: RegisteredModel }>('registered-models/update', { name, description }, 'PATCH'),
  setModelTag: (name: string, key: string, value: string) => post('registered-models/set-tag', { name, key, value }),
  deleteModelTag: (name: string, key: string) => post('registered-models/delete-tag', { name, key }, 'DELETE'),
  setAlias: (name: string, alias: string, version: string) => post('registered-models/alias', { name, alias, version }),
  deleteAlias: (name: string, alias: string) => post('registered-models/alias', { name, alias }, 'DELETE'),
  versions: (name: string) =>
    get<{ model_versions?: ModelVersion[] }>('model-versions/search', { filter: `name = ${sqlString(name)}`, max_results: 10000 }),
  getVersion: (name: string, version: string) => get<{ model_version: ModelVersion }>('model-versions/get', { name, version }),
  updateVersion: (name: string, version: string, description: string) =>
    post<{ model_version: ModelVersion }>('model-versions/update', { name, version, description }, 'PATCH'),
  setVersionTag: (name: string, version: string, key: string, value: string) =>
    post('model-versions/set-tag', { name, version, key, value }),
  deleteVersionTag: (name: string, version: string, key: string) =>
    post('model-versions/delete-tag', { name, version, key }, 'DELETE'),
  transitionStage: (name: string, version: string, stage: string, archiveExisting: boolean) =>
    post<{ model_version: ModelVersion }>('model-versions/transition-stage',
      { name, version, stage, archive_existing_versions: archiveExisting }),
  /** One file of a version's artifacts as text (e.g. its MLmodel). */
  versionFile: async (name: string, version: string, path: string): Promise<string> => {
    const res = await fetch(versionArtifactUrl(name, version, path));
    if (!res.ok) await handle(res);
    return res.text();
  },
};

export function versionArtifactUrl(name: string, version: string, path: string): string {
  return `${API}/model-versions/get-artifact${query({ name, version, path })}`;
}

export function getLoggedModel(modelId: string) {
  return get<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(modelId)}`);
}
