import { Construct } from 'constructs';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import { named } from './addresses';

/** One metric of a widget: `[namespace, name, dimension, value, ..., { stat, label }]` in the body. */
export interface DashboardMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly label: string;
  /** Plot on the right axis (a second unit in one widget). @default left */
  readonly rightAxis?: boolean;
}

/**
 * A metric search: every metric of `name` in `namespace` with exactly `dimensionNames`, filtered by
 * `filters` (e.g. NotRescued per Reason, whatever reasons occur). Rendered as a SEARCH expression
 * ("Using search expressions in graphs", Amazon CloudWatch User Guide).
 */
export interface DashboardSearch {
  readonly namespace: string;
  readonly name: string;
  readonly dimensionNames: readonly string[];
  readonly filters: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly label: string;
}

export interface DashboardWidget {
  readonly title: string;
  /** The question the widget answers, for the README. */
  readonly answers: string;
  readonly metrics: readonly (DashboardMetric | DashboardSearch)[];
}

export interface MetricDashboardProps {
  readonly name: string;
  readonly region: string;
  readonly widgets: readonly DashboardWidget[];
  /** The resource's readable address name (`aws_cloudwatch_dashboard.<addressName>`). */
  readonly addressName: string;
}

/** Every widget's period, in seconds: the alarms' too. */
const PERIOD = 300;

export const isSearch = (m: DashboardMetric | DashboardSearch): m is DashboardSearch => 'dimensionNames' in m;

/**
 * The dashboard body ("Dashboard Body Structure and Syntax", CloudWatch API reference): metric
 * widgets two to a row, 12 x 6 grid units each.
 */
export function dashboardBody(region: string, widgets: readonly DashboardWidget[]): string {
  return JSON.stringify({
    widgets: widgets.map((w, i) => ({
      type: 'metric',
      x: (i % 2) * 12,
      y: Math.floor(i / 2) * 6,
      width: 12,
      height: 6,
      properties: {
        title: w.title,
        region,
        period: PERIOD,
        view: 'timeSeries',
        metrics: w.metrics.map((m, j) => {
          if (isSearch(m)) {
            const schema = [m.namespace, ...m.dimensionNames].join(',');
            const filters = [`MetricName="${m.name}"`, ...Object.entries(m.filters).map(([k, v]) => `${k}="${v}"`)].join(' ');
            return [{ expression: `SEARCH('{${schema}} ${filters}', '${m.stat}', ${PERIOD})`, id: `s${j}`, label: m.label }];
          }
          return [m.namespace, m.name, ...Object.entries(m.dimensions).flat(), { stat: m.stat, label: m.label, ...(m.rightAxis ? { yAxis: 'right' } : {}) }];
        }),
      },
    })),
  });
}

/** A CloudWatch dashboard of the given metric widgets. */
export class MetricDashboard extends Construct {
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: MetricDashboardProps) {
    super(scope, id);
    this.dashboard = named(new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: props.name,
      dashboardBody: dashboardBody(props.region, props.widgets),
    }), props.addressName);
  }
}
