import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MarkdownEditor, renderMarkdown } from '../components/Markdown';
import { MLmodelView, parseMLmodel, parseSignature, typeString } from '../components/MLmodelView';
import { parseDelimited, yamlLine } from '../components/Previews';
import { previewKind } from '../components/Artifacts';

const MLMODEL = `artifact_path: model
flavors:
  python_function:
    loader_module: mltrail.sklearn
    python_version: 3.11.9
  sklearn:
    sklearn_version: 1.5.2
signature:
  inputs: '[{"type": "double", "name": "x", "required": true}, {"type": "array", "items": {"type": "string"}, "name": "tokens", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]'
  params: '[{"name": "temperature", "type": "double", "default": 0.7, "shape": null}]'
`;

describe('markdown', () => {
  it('renders markdown and never passes raw HTML or script URLs through', () => {
    const html = renderMarkdown('# Title\n\n**bold** [ok](https://example.org) [bad](javascript:alert(1))\n\n<img src=x onerror=alert(1)><script>alert(2)</script>');
    const div = document.createElement('div');
    div.innerHTML = html;
    expect(div.querySelector('h1')?.textContent).toBe('Title');
    expect(div.querySelector('strong')?.textContent).toBe('bold');
    expect(div.querySelector('img')).toBeNull();
    expect(div.querySelector('script')).toBeNull();
    expect(div.textContent).toContain('<script>alert(2)</script>');
    const links = [...div.querySelectorAll('a')];
    expect(links[0].getAttribute('href')).toBe('https://example.org');
    expect(links[0].getAttribute('rel')).toContain('noopener');
    expect(links.every((a) => !(a.getAttribute('href') || '').startsWith('javascript:'))).toBe(true);
  });
  it('renders GFM tables and line breaks', () => {
    const div = document.createElement('div');
    div.innerHTML = renderMarkdown('| a | b |\n|---|---|\n| 1 | 2 |\n\nline one\nline two');
    expect(div.querySelectorAll('td')).toHaveLength(2);
    expect(div.querySelector('br')).not.toBeNull();
  });
  it('edits with write and preview tabs and saves', async () => {
    const onSave = vi.fn(() => Promise.resolve());
    render(<MarkdownEditor value="old **text**" onSave={onSave} />);
    expect(screen.getByText('text').tagName).toBe('STRONG');
    fireEvent.click(screen.getByRole('button', { name: 'Edit' }));
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: '## New' } });
    fireEvent.click(screen.getByRole('tab', { name: 'Preview' }));
    expect(screen.getByRole('heading', { level: 2 }).textContent).toBe('New');
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(onSave).toHaveBeenCalledWith('## New');
    await waitFor(() => expect(screen.getByRole('button', { name: 'Edit' })).toBeTruthy());
  });
  it('keeps the editor open and shows the error when saving fails', async () => {
    render(<MarkdownEditor value="" onSave={() => Promise.reject(new Error('RESOURCE_DOES_NOT_EXIST'))} />);
    expect(screen.getByText('No description.')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Edit' }));
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('RESOURCE_DOES_NOT_EXIST'));
    expect(screen.getByLabelText('Description')).toBeTruthy();
  });
});

describe('MLmodel', () => {
  it('parses the signature into rows with readable types', () => {
    const sig = parseSignature(parseMLmodel(MLMODEL))!;
    expect(sig.inputs).toEqual([
      { name: 'x', type: 'double', required: 'required', extra: '' },
      { name: 'tokens', type: 'Array(string)', required: 'optional', extra: '' },
    ]);
    expect(sig.outputs![0]).toMatchObject({ name: '(unnamed)', type: 'Tensor(float32, [-1, 3])', required: '—' });
    expect(sig.params![0]).toMatchObject({ name: 'temperature', type: 'double', extra: 'default: 0.7' });
    expect(typeString({ type: 'object', properties: { a: { type: 'long', required: false } } })).toBe('{a?: long}');
    expect(parseSignature(parseMLmodel('flavors: {}\n'))).toBeNull();
  });
  it('shows flavors and signature tables', () => {
    const { container } = render(<MLmodelView text={MLMODEL} />);
    expect([...container.querySelectorAll('.flavor')].map((f) => f.getAttribute('data-flavor'))).toEqual(['python_function', 'sklearn']);
    expect(container.querySelectorAll('table.sig-inputs tbody tr')).toHaveLength(2);
    expect(container.querySelector('table.sig-outputs')?.textContent).toContain('Tensor(float32, [-1, 3])');
    expect(container.querySelector('table.sig-params')?.textContent).toContain('temperature');
  });
  it('reports a file that is not YAML', () => {
    render(<MLmodelView text={'flavors: [unclosed'} />);
    expect(screen.getByRole('alert').textContent).toContain('Could not parse MLmodel');
  });
});

describe('previews', () => {
  it('picks a preview from the file name', () => {
    expect(previewKind('model/MLmodel')).toBe('mlmodel');
    expect(previewKind('conda.yaml')).toBe('yaml');
    expect(previewKind('d/x.PARQUET')).toBe('parquet');
    expect(previewKind('a.csv')).toBe('csv');
    expect(previewKind('plot.png')).toBe('image');
    expect(previewKind('requirements.txt')).toBe('text');
    expect(previewKind('weights.bin')).toBe('none');
  });
  it('parses quoted CSV fields', () => {
    expect(parseDelimited('a,b\n"x, y","say ""hi"""\r\n3,\n', ',')).toEqual([['a', 'b'], ['x, y', 'say "hi"'], ['3', '']]);
    expect(parseDelimited('a\tb\n1\t2', '\t')).toEqual([['a', 'b'], ['1', '2']]);
    expect(parseDelimited('h\n1\n2\n3\n', ',', 2)).toEqual([['h'], ['1']]);
  });
  it('splits YAML lines for highlighting', () => {
    expect(yamlLine('  - name: tree # the model')).toEqual({ lead: '  - ', key: 'name', rest: ' tree', comment: ' # the model' });
    expect(yamlLine('lr: 0.01')).toMatchObject({ key: 'lr', rest: ' 0.01' });
    expect(yamlLine('url: "http://x#y"')).toMatchObject({ key: 'url', rest: ' "http://x#y"', comment: '' });
    expect(yamlLine('- plain item')).toMatchObject({ key: '', rest: '- plain item' });
  });
});
