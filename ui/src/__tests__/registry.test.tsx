import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { compareRuns, latestVersion, snippet, modelFilter, modelOrderBy, StageBadge } from '../pages/Models';
import { TagEditor } from '../components/TagEditor';
import { AliasEditor } from '../components/AliasEditor';
import { ApiError } from '../api/http';
import { versionArtifactUrl } from '../api/registry';

describe('models list logic', () => {
  it('builds the search filter and order', () => {
    expect(modelFilter('')).toBe('');
    expect(modelFilter("it's")).toBe("name ILIKE '%it\\'s%'");
    expect(modelOrderBy('name:asc')).toEqual(['name ASC']);
    expect(modelOrderBy('updated:desc')).toEqual(['last_updated_timestamp DESC']);
    expect(modelOrderBy('bogus:desc')).toEqual(['name DESC']);
  });
  it('shows a description as one plain line', () => {
    expect(snippet('# A **bold** [link](http://x)\nmore')).toBe('A bold link');
    expect(snippet(undefined)).toBe('');
  });
  it('compares the distinct source runs of the picked versions', () => {
    const vs = [{ name: 'm', version: '3', run_id: 'r2' }, { name: 'm', version: '2', run_id: 'r1' },
      { name: 'm', version: '1', run_id: 'r1' }, { name: 'm', version: '0' }];
    expect(compareRuns(vs, ['1', '2', '3', '0'])).toEqual(['r2', 'r1']);
    expect(compareRuns(vs, ['3'])).toEqual(['r2']);
  });
  it('finds the newest version and shows stages', () => {
    expect(latestVersion({ name: 'm', latest_versions: [{ name: 'm', version: '9' }, { name: 'm', version: '10' }] })).toBe('10');
    expect(latestVersion({ name: 'm' })).toBeUndefined();
    render(<StageBadge stage="Production" />);
    expect(screen.getByText('Production').className).toBe('stage stage-production');
    expect(versionArtifactUrl('a b', '2', 'MLmodel')).toBe('ajax-api/2.0/mlflow/model-versions/get-artifact?name=a+b&version=2&path=MLmodel');
  });
});

describe('tag editor', () => {
  it('adds, edits and deletes tags through the callbacks', async () => {
    const onSet = vi.fn(() => Promise.resolve());
    const onDelete = vi.fn(() => Promise.resolve());
    const onChanged = vi.fn();
    render(<TagEditor tags={[{ key: 'team', value: 'vision' }]} onSet={onSet} onDelete={onDelete} onChanged={onChanged} />);
    fireEvent.change(screen.getByLabelText('New tag key'), { target: { value: ' owner ' } });
    fireEvent.change(screen.getByLabelText('New tag value'), { target: { value: 'carol' } });
    fireEvent.click(screen.getByText('Add tag'));
    await waitFor(() => expect(onChanged).toHaveBeenCalledTimes(1));
    expect(onSet).toHaveBeenCalledWith('owner', 'carol');
    fireEvent.click(screen.getByLabelText('Edit tag team'));
    fireEvent.change(screen.getByLabelText('Value of team'), { target: { value: 'nlp' } });
    fireEvent.click(screen.getByText('Save'));
    await waitFor(() => expect(onSet).toHaveBeenCalledWith('team', 'nlp'));
    fireEvent.click(screen.getByLabelText('Delete tag team'));
    await waitFor(() => expect(onDelete).toHaveBeenCalledWith('team'));
  });
  it("shows the server's message and refuses an empty key", async () => {
    const onSet = vi.fn(() => Promise.reject(new ApiError('Tag key is too long', 'INVALID_PARAMETER_VALUE', 400)));
    render(<TagEditor tags={[]} onSet={onSet} onDelete={vi.fn()} onChanged={vi.fn()} />);
    fireEvent.click(screen.getByText('Add tag'));
    expect(screen.getByRole('alert').textContent).toBe('A tag needs a key.');
    expect(onSet).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('New tag key'), { target: { value: 'k' } });
    fireEvent.click(screen.getByText('Add tag'));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('Tag key is too long'));
  });
});

describe('alias editor', () => {
  const aliases = [{ alias: 'champion', version: '2' }, { alias: 'old', version: '1' }];
  it('sets an alias on the chosen version and deletes one', async () => {
    const onSet = vi.fn(() => Promise.resolve());
    const onDelete = vi.fn(() => Promise.resolve());
    const onChanged = vi.fn();
    render(<AliasEditor model="m" aliases={aliases} versions={['2', '1']} onSet={onSet} onDelete={onDelete} onChanged={onChanged} />);
    expect(screen.getByTestId('aliases').textContent).toContain('@champion → v2');
    fireEvent.change(screen.getByLabelText('Alias'), { target: { value: '@blue' } });
    fireEvent.change(screen.getByLabelText('Alias version'), { target: { value: '1' } });
    fireEvent.click(screen.getByText('Set alias'));
    await waitFor(() => expect(onSet).toHaveBeenCalledWith('blue', '1'));
    fireEvent.click(screen.getByLabelText('Delete alias old'));
    await waitFor(() => expect(onDelete).toHaveBeenCalledWith('old'));
    await waitFor(() => expect(onChanged).toHaveBeenCalledTimes(2));
  });
  it("on a version page shows that version's aliases and says when one moves", async () => {
    const onSet = vi.fn(() => Promise.reject(new ApiError("'latest' alias name (case insensitive) is reserved.")));
    render(<AliasEditor model="m" version="1" aliases={aliases} onSet={onSet} onDelete={vi.fn()} onChanged={vi.fn()} />);
    expect(screen.getByTestId('aliases').textContent).toBe('@old×');
    fireEvent.change(screen.getByLabelText('Alias'), { target: { value: 'champion' } });
    expect(screen.getByText('moves @champion from v2')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Alias'), { target: { value: 'latest' } });
    fireEvent.click(screen.getByText('Set alias'));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('reserved'));
    expect(onSet).toHaveBeenCalledWith('latest', '1');
  });
});
