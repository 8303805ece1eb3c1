import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { REPO } from '../helpers/agent-cli.js';

/**
 * Every citation of the design docs points at something that exists. Code and docs cite
 * "docs/design/style.md §7" (and `[text](design/codedeploy.md) §1.4` in Markdown): the file must
 * exist and have a heading numbered 7 (or 1.4). The old forms — "STYLE 3", "DESIGN §4",
 * "CODEDEPLOY §5", "CODEDEPLOY.md", "STACK.md" (pages that lived outside the repository) and bare
 * "issue 6" (a number from a tracker the code does not ship with) — are refused. Relative Markdown
 * links in the docs must reach a file, and an `#anchor` into a Markdown file a heading there.
 */

const SOURCE_DIRS = ['common', 'agent', 'coordinator', 'cli', 'ops', 'proto', 'bench', 'scripts', 'test', 'docs', 'hooks-examples'];
const ROOT_FILES = ['README.md', 'CONTRIBUTING.md', 'eslint.config.js', 'package.json'];
const SKIP_DIRS = new Set(['gen', 'node_modules', 'dist', '.tap']);
const THIS_FILE = path.join('test', 'unit', 'doc-citations.test.ts');

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(path.join(REPO, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(REPO, rel)).isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(rel, out);
    } else if (/\.(ts|mjs|js|proto|md|sh|ya?ml)$/.test(name) && rel !== THIS_FILE) out.push(rel);
  }
  return out;
}

const files = [...ROOT_FILES.filter(f => existsSync(path.join(REPO, f))), ...SOURCE_DIRS.flatMap(d => walk(d, []))];

/** A heading's number ("## 4. Protocol" → "4", "### 1.3 `files`" → "1.3"), or undefined. */
function headingNumber(line: string): string | undefined {
  return /^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line)?.[1];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

const headingCache = new Map<string, { numbers: Set<string>; slugs: Set<string> }>();
function headingsOf(file: string): { numbers: Set<string>; slugs: Set<string> } {
  let h = headingCache.get(file);
  if (!h) {
    h = { numbers: new Set(), slugs: new Set() };
    let fence = false;
    for (const line of readFileSync(path.join(REPO, file), 'utf8').split('\n')) {
      if (/^\s*```/.test(line)) fence = !fence;
      if (fence || !/^#{1,6}\s/.test(line)) continue;
      const n = headingNumber(line);
      if (n) h.numbers.add(n);
      h.slugs.add(slug(line.replace(/^#+\s*/, '')));
    }
    headingCache.set(file, h);
  }
  return h;
}

export interface Citation {
  file: string;
  line: number;
  /** The cited page, relative to the repository. */
  page: string;
  sections: string[];
}

/** The section numbers right after a citation: ` §7`, ` §1.3, §1.4`, `) §3 and §4`. */
function sectionsAfter(rest: string): string[] {
  const m = /^(?:\]\([^)\s]*\))?\)?\s*((?:§\s?\d+(?:\.\d+)*(?:\s*(?:,|and)\s*(?=§))?)+)/.exec(rest);
  return m ? [...m[1]!.matchAll(/§\s?(\d+(?:\.\d+)*)/g)].map(x => x[1]!) : [];
}

/** Citations of docs/design pages in one file's text. */
export function citations(file: string, text: string): Citation[] {
  const out: Citation[] = [];
  text.split('\n').forEach((line, i) => {
    // Plain text anywhere: docs/design/x.md §N.
    for (const m of line.matchAll(/\bdocs\/design\/([\w-]+\.md)/g)) {
      out.push({ file, line: i + 1, page: `docs/design/${m[1]}`, sections: sectionsAfter(line.slice(m.index! + m[0].length)) });
    }
    // Markdown links to a design page, relative to the file: [text](design/x.md) §N.
    if (file.endsWith('.md')) {
      for (const m of line.matchAll(/\]\(([^)\s#]*\.md)(#[^)\s]*)?\)/g)) {
        const page = path.normalize(path.join(path.dirname(file), m[1]!));
        if (!page.startsWith(`docs${path.sep}design${path.sep}`) || m[1]!.startsWith('docs/design/')) continue;
        out.push({ file, line: i + 1, page, sections: sectionsAfter(line.slice(m.index! + m[0].length)) });
      }
    }
  });
  return out;
}

/** What is wrong with one citation, or undefined. */
export function citationProblem(c: Citation): string | undefined {
  if (!existsSync(path.join(REPO, c.page))) return `${c.file}:${c.line}: cites ${c.page}, which does not exist`;
  const { numbers } = headingsOf(c.page);
  const missing = c.sections.filter(s => !numbers.has(s));
  if (missing.length > 0) return `${c.file}:${c.line}: cites ${c.page} ${missing.map(s => `§${s}`).join(', ')}: no such numbered heading there`;
  return undefined;
}

/** The old citation forms, each with what to write instead. */
const OLD_FORMS: ReadonlyArray<[RegExp, string]> = [
  [/\bSTYLE \d+/, 'docs/design/style.md §N'],
  [/\bSTYLE\.md\b/, 'docs/design/style.md'],
  [/\bDESIGN(?:\.md)? ?§/, 'docs/design/architecture.md §N'],
  [/\bDESIGN\.md\b/, 'docs/design/architecture.md'],
  [/\bCODEDEPLOY(?:\.md)? ?§|\bCODEDEPLOY\.md\b/, 'docs/design/codedeploy.md §N'],
  [/\bSTACK\.md\b/, 'docs/design/stack.md §N'],
  [/\b[Ii]ssues? #?\d+\b/, 'what the thing is, not a tracker number'],
];

export function oldForms(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const [re, instead] of OLD_FORMS) {
      const m = re.exec(line);
      if (m) out.push(`${file}:${i + 1}: "${m[0]}": cite ${instead}`);
    }
  });
  return out;
}

/** Relative links in a Markdown file that reach no file, or no heading of the Markdown file they name. */
export function brokenLinks(file: string, text: string): string[] {
  const out: string[] = [];
  let fence = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fence = !fence;
    if (fence) return;
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      const [rel, anchor] = target.split('#') as [string, string | undefined];
      const dest = rel === '' ? file : path.normalize(path.join(path.dirname(file), rel));
      if (!existsSync(path.join(REPO, dest))) {
        out.push(`${file}:${i + 1}: link to ${target}: ${dest} does not exist`);
        continue;
      }
      if (anchor && dest.endsWith('.md') && !headingsOf(dest).slugs.has(anchor)) {
        out.push(`${file}:${i + 1}: link to ${target}: no heading #${anchor} in ${dest}`);
      }
    }
  });
  return out;
}

/** Repository paths a Markdown file names (`common/errors.ts`, `../docs/trust.md`) that do not exist. */
export function missingPaths(file: string, text: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/(?<![\w./-])(?:\.\.\/)*((?:common|agent|coordinator|cli|ops|proto|test|scripts|bench|docs|hooks-examples)\/[\w./-]*\.(?:ts|mjs|md|proto))\b/g)) {
      if (/NN|\*|\{/.test(m[1]!)) continue; // a pattern (schema/vNN.ts), not a file
      if (!existsSync(path.join(REPO, m[1]!))) out.push(`${file}:${i + 1}: names ${m[1]}, which does not exist`);
    }
  });
  return out;
}

const texts = files.map(f => [f, readFileSync(path.join(REPO, f), 'utf8')] as const);

t.test('the four design pages exist, with numbered sections', async t => {
  for (const page of ['architecture', 'style', 'codedeploy', 'stack']) {
    const file = `docs/design/${page}.md`;
    t.ok(existsSync(path.join(REPO, file)), `${file} exists`);
    if (existsSync(path.join(REPO, file))) t.ok(headingsOf(file).numbers.size >= 5, `${file} has numbered sections`);
  }
});

t.test('every citation of a design page names a file and sections that exist', async t => {
  const all = texts.flatMap(([f, text]) => citations(f, text));
  t.ok(all.length >= 60, `${all.length} citations found`);
  t.ok(all.filter(c => c.sections.length > 0).length >= 50, 'most name a section');
  t.same(all.map(citationProblem).filter(p => p !== undefined), []);
});

t.test('no old citation form is left (STYLE n, DESIGN §, CODEDEPLOY §, STACK.md, issue N)', async t => {
  t.same(texts.flatMap(([f, text]) => oldForms(f, text)), []);
});

t.test('relative links in the docs reach a file and a heading', async t => {
  const md = texts.filter(([f]) => f.endsWith('.md'));
  t.ok(md.some(([f]) => f === 'README.md') && md.some(([f]) => f.startsWith('docs/')), 'README and docs are checked');
  t.same(md.flatMap(([f, text]) => brokenLinks(f, text)), []);
});

t.test('the files the docs name exist', async t => {
  t.same(texts.filter(([f]) => f.endsWith('.md')).flatMap(([f, text]) => missingPaths(f, text)), []);
});

t.test('the checks catch drift: a missing page, a missing section, an old form, a broken link', async t => {
  t.match(citationProblem({ file: 'x.ts', line: 3, page: 'docs/design/nope.md', sections: [] }), /x\.ts:3: cites docs\/design\/nope\.md, which does not exist/);
  t.match(citationProblem({ file: 'x.ts', line: 4, page: 'docs/design/style.md', sections: ['7', '99'] }), /x\.ts:4: cites docs\/design\/style\.md §99: no such numbered heading/);
  t.same(citations('a.ts', ' * decided purely (docs/design/style.md §7, §11) and see docs/design/codedeploy.md §1.3 and §1.4.').map(c => [c.page, c.sections]), [
    ['docs/design/style.md', ['7', '11']],
    ['docs/design/codedeploy.md', ['1.3', '1.4']],
  ]);
  t.same(citations('docs/x.md', 'rules in [design/codedeploy.md](design/codedeploy.md) §5.3; [b](../bench/README.md) §2').map(c => [c.page, c.sections]), [
    ['docs/design/codedeploy.md', ['5.3']],
  ]);
  t.equal(oldForms('a.ts', '// (STYLE 3) and DESIGN §4, CODEDEPLOY §5, shared/STACK.md, issue 6').length, 5);
  t.same(oldForms('a.ts', '// issued certificates; docs/design/stack.md §3'), []);
  t.same(missingPaths('docs/x.md', 'the table in `agent/lifecycle/events.ts`, not `common/lifecycle/events.ts` nor dist/agent/x.ts'), [
    'docs/x.md:1: names agent/lifecycle/events.ts, which does not exist',
  ]);
  t.match(brokenLinks('docs/x.md', 'see [a](agent.md#no-such-heading) and [b](nope.md)').join('\n'), /no heading #no-such-heading in docs\/agent\.md[\s\S]*docs\/nope\.md does not exist/);
});
