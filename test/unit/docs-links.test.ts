/**
 * The README is a landing page that links into docs/: every relative link of the README and of docs/*.md must
 * name a file that exists (and, with #anchor, a heading in it), and the README's test command must be the one CI runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'tape';

const root = path.resolve(__dirname, '..', '..', '..');
const markdownFiles = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchorsIn(file: string): Set<string> {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => anchorOf(m[1])));
}

test('docs: every relative link of the README and docs/ reaches a file and heading that exist', (t) => {
  const broken: string[] = [];
  for (const file of markdownFiles) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [relative, anchor] = target.split('#');
      const resolved = relative ? path.join(path.dirname(file), relative) : file;
      if (!fs.existsSync(path.join(root, resolved))) broken.push(`${file} → ${target}`);
      else if (anchor && resolved.endsWith('.md') && !anchorsIn(resolved).has(anchor)) broken.push(`${file} → ${target} (no such heading)`);
    }
  }
  t.deepEqual(broken, [], `${markdownFiles.length} files checked`);
  t.end();
});

test('docs: the README gives the exact test command .ci/run runs', (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const ci = fs.readFileSync(path.join(root, '.ci', 'run'), 'utf8');
  const command = 'MYSQL_ROOT_PASSWORD= npm test';
  t.ok(readme.includes(`\`\`\`sh\n${command}\n\`\`\``), 'README shows the test command in a block of its own');
  t.ok(ci.split('\n').some((line) => line.trim() === command), '.ci/run runs it as it stands');
  const firstScreen = readme.split('\n').slice(0, 60).join('\n');
  for (const heading of ['## Quick start with Docker', '## Quick start without Docker', '## Test']) {
    t.ok(firstScreen.includes(heading), `"${heading}" within the first 60 lines`);
  }
  t.end();
});
