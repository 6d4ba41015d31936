/**
 * What the deploy/ files ask of Prometheus: the Grafana dashboard's panel queries and the alert
 * rules' expressions, as the deploy tests (and e2e/observability.test.ts, during a real call)
 * send them to a real Prometheus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const grafana = fileURLToPath(new URL('../../../deploy/grafana/', import.meta.url));
export const prometheusDeploy = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));
export const DATASOURCE = '${DS_PROMETHEUS}';

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  gridPos?: { x: number; y: number; w: number; h: number };
}
export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ name?: string; type?: string; query?: unknown; definition?: string; datasource?: { uid?: string }; includeAll?: boolean; multi?: boolean; allValue?: string }> };
}

export const dashboard = JSON.parse(readFileSync(join(grafana, 'dashboards/parley.json'), 'utf8')) as Dashboard;
export const panels = (dashboard.panels ?? []).filter((p) => p.type !== 'row');
export const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title ?? '', legend: target.legendFormat ?? '', expr: target.expr ?? '' })));
export const label = (q: { panel: string; legend: string }) => `${q.panel} [${q.legend}]`;
/** The dashboard's variables as Grafana fills them for the default selection (All nodes, a 15 s scrape interval). */
export const concrete = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('${node}', '.*').replaceAll('$node', '.*');
/** The Parley metric names an expression uses (Prometheus' own `up` aside). */
export const metricNames = (expr: string) => [...expr.matchAll(/\bparley_[a-z0-9_]+/g)].map((m) => m[0]);

/** Each alert rule's expression with its final comparison left out: what must return data. */
export function alertExpressions(): string[] {
  return [...readFileSync(join(prometheusDeploy, 'alerts.yml'), 'utf8').matchAll(/expr: (?:\|\n)?([\s\S]*?)\n\s+(?:for|labels):/g)].map((m) =>
    m[1]!.replace(/\s+/g, ' ').trim().replace(/ (==|>|<|>=|<=) [0-9.]+$/, ''),
  );
}
