// The model registry: registered models, versions, aliases, tags and stages.
import { API, apiFetch, get, handle, post, query, sqlString } from './http';
import type { KV } from './tracking';

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
    const url = versionArtifactUrl(name, version, path);
    const res = await apiFetch(url);
    if (!res.ok) await handle(res, { method: 'GET', url });
    return res.text();
  },
};

export function versionArtifactUrl(name: string, version: string, path: string): string {
  return `${API}/model-versions/get-artifact${query({ name, version, path })}`;
}
