import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

import { MACHINE_RESOURCE, type ObjectRef } from '../domain/resources.js';
import { FIELD_MANAGER, kubeCall } from './objects.js';
import { isNotFound, type KubeClients } from './kube-client.js';

/** What an infrastructure machine needs of its CAPI Machine (v1beta2, the version CAPI stores). */
export interface MachineView {
  name: string;
  uid: string;
  clusterName?: string;
  /** spec.bootstrap.dataSecretName: set once the bootstrap data is ready. */
  dataSecretName?: string;
  /** spec.bootstrap.configRef.kind: K0sWorkerConfig, K0sControllerConfig, … */
  bootstrapConfigKind?: string;
  /** spec.version: the Kubernetes version the Machine asks for. */
  version?: string;
  /** spec.providerID, copied by CAPI from the infrastructure machine. */
  providerID?: string;
  /** status.nodeRef.name: the Node CAPI matched to the Machine. */
  nodeName?: string;
  /** metadata.creationTimestamp (RFC 3339). */
  createdAt?: string;
  labels?: Record<string, string>;
  deleting: boolean;
}

export interface MachineActivities {
  readMachine(key: { namespace: string; name: string }): Promise<MachineView | null>;
  /**
   * Sets spec.providerID (merge patch); no write when it already has that value. Returns the object's
   * generation after the write, null when the object is gone.
   */
  setProviderID(input: { ref: ObjectRef; providerID: string }): Promise<number | null>;
}

interface RawMachine {
  metadata: {
    name: string;
    uid: string;
    deletionTimestamp?: string;
    creationTimestamp?: string | Date;
    labels?: Record<string, string>;
  };
  spec?: {
    clusterName?: string;
    version?: string;
    providerID?: string;
    bootstrap?: { dataSecretName?: string; configRef?: { kind?: string } };
  };
  status?: { nodeRef?: { name?: string } };
}

export function createMachineActivities(clients: KubeClients): MachineActivities {
  const { custom } = clients;
  return {
    async readMachine({ namespace, name }) {
      return kubeCall(`read Machine ${namespace}/${name}`, async () => {
        try {
          const m = (await custom.getNamespacedCustomObject({
            ...MACHINE_RESOURCE,
            namespace,
            name,
          })) as RawMachine;
          const bootstrap = m.spec?.bootstrap;
          return {
            name,
            uid: m.metadata.uid,
            ...(m.spec?.clusterName ? { clusterName: m.spec.clusterName } : {}),
            ...(bootstrap?.dataSecretName ? { dataSecretName: bootstrap.dataSecretName } : {}),
            ...(bootstrap?.configRef?.kind ? { bootstrapConfigKind: bootstrap.configRef.kind } : {}),
            ...(m.spec?.version ? { version: m.spec.version } : {}),
            ...(m.spec?.providerID ? { providerID: m.spec.providerID } : {}),
            ...(m.status?.nodeRef?.name ? { nodeName: m.status.nodeRef.name } : {}),
            ...(m.metadata.creationTimestamp
              ? { createdAt: new Date(m.metadata.creationTimestamp).toISOString() }
              : {}),
            ...(m.metadata.labels ? { labels: m.metadata.labels } : {}),
            deleting: m.metadata.deletionTimestamp !== undefined,
          };
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
      });
    },

    async setProviderID({ ref, providerID }) {
      return kubeCall(`set providerID of ${ref.kind} ${ref.namespace}/${ref.name}`, async () => {
        type Current = { metadata: { uid: string; generation?: number }; spec?: { providerID?: string } };
        const current = (await custom.getNamespacedCustomObject({ ...ref })) as Current;
        if (current.metadata.uid !== ref.uid) return null;
        if (current.spec?.providerID === providerID) return current.metadata.generation ?? 0;
        // The uid in the patch is a precondition: it fails on an object re-created under the same name.
        const patched = (await custom.patchNamespacedCustomObject(
          { ...ref, body: { metadata: { uid: ref.uid }, spec: { providerID } }, fieldManager: FIELD_MANAGER },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
        )) as Current;
        return patched.metadata.generation ?? 0;
      });
    },
  };
}
