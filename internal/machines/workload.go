package machines

import "fmt"

// WorkloadManifest is the service a careful user runs through an upgrade:
// three replicas spread over the workers, a readiness probe so that only
// serving pods get traffic, a preStop delay so that a pod keeps serving
// until the endpoints no longer list it, and a PodDisruptionBudget so that
// a drain takes one at a time.
func WorkloadManifest(namespace, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %[1]s
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 30
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: ScheduleAnyway
        labelSelector:
          matchLabels: {app: web}
      containers:
      - name: httpd
        image: %[2]s
        command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
          failureThreshold: 1
        lifecycle:
          preStop:
            exec:
              command: ["sleep", "5"]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: %[1]s
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: web}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: %[1]s
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
`, namespace, image)
}

// KeystoneJobManifest is a Job whose main container is the pod's keystone
// and whose sidecar would run forever without it. It asks for a machine
// with our kubelet (KeystoneLabel=on): an upstream kubelet ignores the
// field and the Job would never finish. suspended gives a Job that only
// stores the template (keystone-template).
func KeystoneJobManifest(namespace, image string, suspended bool) string {
	name := "keystone"
	if suspended {
		name = "keystone-template"
	}
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  suspend: %[4]t
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 2
      nodeSelector:
        %[5]s: "on"
      containers:
      - name: main
        image: %[3]s
        command: ["sh", "-c", "sleep 10"]
        lifecycle:
          type: Keystone
      - name: sidecar
        image: %[3]s
        command: ["sleep", "100000"]
`, name, namespace, image, suspended, KeystoneLabel)
}

// KeystonePodManifest is a long-running pod with a keystone, stored to see
// what upstream's apiserver makes of the field.
func KeystonePodManifest(namespace, image string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: keystone-pod
  namespace: %[1]s
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: %[2]s
    command: ["sleep", "100000"]
    lifecycle:
      type: Keystone
  - name: sidecar
    image: %[2]s
    command: ["sleep", "100000"]
`, namespace, image)
}
