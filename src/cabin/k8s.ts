// `iov apply --emit k8s` (issue 19): the replica plan as Kubernetes Deployments — one per
// segment, its pods = the plan's replicas (one consumer each), placed on the plan's centre
// by a node selector (label `iov.cabin/centre`; provider and location as labels too). The
// pod spec follows infra/deploy/k8s/iov.yaml's segment Deployments.
import { stringify } from 'yaml';
import type { ReplicaPlan } from '../topology/index.ts';

export const CENTRE_LABEL = 'iov.cabin/centre';

export function k8sManifests(plan: ReplicaPlan, image = 'iov-pipeline:latest'): string {
  const docs = plan.segments.map((s) => {
    const labels = { app: 'iov-segment', segment: s.segment };
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: `iov-segment-${s.segment}`,
        labels: { ...labels, [CENTRE_LABEL]: s.centre },
        annotations: { 'iov.cabin/plan': `${plan.solver} ${plan.status} ${plan.createdAt}`, 'iov.cabin/provider': s.provider ?? '', 'iov.cabin/location': s.location ?? '' },
      },
      spec: {
        replicas: s.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' } },
          spec: {
            nodeSelector: { [CENTRE_LABEL]: s.centre },
            containers: [{
              name: 'segment', image,
              args: ['segment', '--topology', '/etc/iov/topology.yaml', '--id', s.segment, '--workers', '1', '--metrics-port', '9464'],
              ports: [{ name: 'metrics', containerPort: 9464 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 9464 }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 9464 }, periodSeconds: 10, failureThreshold: 6 },
              volumeMounts: [{ name: 'topology', mountPath: '/etc/iov' }],
            }],
            volumes: [{ name: 'topology', configMap: { name: 'iov-topology' } }],
          },
        },
      },
    };
  });
  return docs.map((d) => stringify(d)).join('---\n');
}
