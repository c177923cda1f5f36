import { Construct } from 'constructs';
import { Fn } from 'cdktf';
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

export interface DashboardWidget {
  readonly title: string;
  /** The question the widget answers, for the README. */
  readonly answers: string;
  readonly metrics: readonly DashboardMetric[];
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

/**
 * The dashboard body ("Dashboard Body Structure and Syntax", CloudWatch API reference): metric
 * widgets two to a row, 12 x 6 grid units each. Terraform's jsonencode, not JSON.stringify: the
 * body names resources by reference, and cdktf's HCL output does not escape a JSON string's quotes.
 */
export function dashboardBody(region: string, widgets: readonly DashboardWidget[]): string {
  return Fn.jsonencode({
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
        metrics: w.metrics.map((m) =>
          [m.namespace, m.name, ...Object.entries(m.dimensions).flat(), { stat: m.stat, label: m.label, ...(m.rightAxis ? { yAxis: 'right' } : {}) }]),
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
