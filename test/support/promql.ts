/**
 * The metric names a PromQL expression reads, found without a full parser: string literals, label
 * matchers, ranges and grouping clauses are removed, then every identifier that is not a function,
 * an aggregation or a keyword is a metric name. Enough for the expressions of a Grafana dashboard.
 */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const rest = stripped.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(match[0].toLowerCase())) continue;
    // a number such as 1e3 or a duration suffix left over is not a name
    if (/\d/.test(stripped[(match.index ?? 1) - 1] ?? '')) continue;
    names.add(match[0]);
  }
  return [...names];
}

/**
 * Every series name a Prometheus text exposition declares (`# TYPE` lines), with the `_bucket`, `_sum` and
 * `_count` series of histograms and summaries: what can be queried even before anything was observed.
 */
export function exportedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match;
    names.add(name);
    if (type === 'histogram') ['_bucket', '_sum', '_count'].forEach((suffix) => names.add(`${name}${suffix}`));
    if (type === 'summary') ['_sum', '_count'].forEach((suffix) => names.add(`${name}${suffix}`));
  }
  return names;
}
