// Tracking: experiments, runs, metrics, artifacts and logged models.
import { API, EXT_API, get, post, query, sqlString } from './http';

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

export interface LoggedModel {
  info: {
    model_id: string; experiment_id: string; name?: string; artifact_uri?: string; model_type?: string;
    source_run_id?: string; status?: string; creation_timestamp_ms?: number; last_updated_timestamp_ms?: number;
    tags?: KV[]; registrations?: { name: string; version: string }[]; creator_id?: string;
  };
  data?: { params?: KV[]; metrics?: Metric[] };
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

// ---------------------------------------------------------------------------------------- runs table, run page
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

export function getLoggedModel(modelId: string) {
  return get<{ model: LoggedModel }>(`logged-models/${encodeURIComponent(modelId)}`);
}
