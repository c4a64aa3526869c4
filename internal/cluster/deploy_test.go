package cluster

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/server/common/dynamicconfig"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/isweep/isweep/internal/devserver"
)

// workerDeployment is how a deployment file runs the worker: the arguments
// after the entrypoint `isweep`, and the environment.
type workerDeployment struct {
	args []string
	env  map[string]string
}

func (d workerDeployment) environ() []string {
	var env []string
	for k, v := range d.env {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// readEnvFile reads a compose env file (NAME=value lines, # comments). A
// file made from an .example by the user is read from the .example when
// missing, as on a fresh checkout.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	body, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		body, err = os.ReadFile(path + ".example")
	}
	if err != nil {
		t.Fatalf("env file %s (nor its .example): %v", path, err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not NAME=value", path, line)
		}
		env[name] = value
	}
	return env
}

// composeService is the part of a compose service this test reads.
type composeService struct {
	Image         string    `yaml:"image"`
	Command       []string  `yaml:"command"`
	Entrypoint    any       `yaml:"entrypoint"`
	EnvFile       []string  `yaml:"env_file"`
	Environment   yaml.Node `yaml:"environment"`
	ContainerName string    `yaml:"container_name"`
	Volumes       []string  `yaml:"volumes"`
	Ports         []string  `yaml:"ports"`
	Build         *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
}

// environment reads a compose environment: a mapping or a list of NAME=value.
func (s composeService) environment(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	switch s.Environment.Kind {
	case 0:
	case yaml.MappingNode:
		if err := s.Environment.Decode(&env); err != nil {
			t.Fatal(err)
		}
	case yaml.SequenceNode:
		var list []string
		if err := s.Environment.Decode(&list); err != nil {
			t.Fatal(err)
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	default:
		t.Fatalf("environment is neither a mapping nor a list")
	}
	return env
}

func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(body, &file); err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	return file.Services
}

// composeWorker reads the worker service of deploy/compose.yaml.
func composeWorker(t *testing.T) workerDeployment {
	t.Helper()
	services := readCompose(t)
	w, ok := services["worker"]
	if !ok {
		t.Fatal("deploy/compose.yaml: no service worker")
	}
	env := map[string]string{}
	for _, f := range w.EnvFile {
		for k, v := range readEnvFile(t, filepath.Join(repoRoot, "deploy", f)) {
			env[k] = v
		}
	}
	for k, v := range w.environment(t) {
		env[k] = v
	}
	return workerDeployment{args: w.Command, env: env}
}

// k8sDocs reads the YAML documents of a file under deploy/k8s as JSON.
func k8sDocs(t *testing.T, name string) [][]byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for doc := range strings.SplitSeq(string(body), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := k8syaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("deploy/k8s/%s: %v", name, err)
		}
		docs = append(docs, j)
	}
	return docs
}

// decodeStrict decodes a Kubernetes object, refusing unknown fields (a
// misspelt field would be silently dropped by the API server's
// non-strict modes).
func decodeStrict(t *testing.T, name string, doc []byte, into any) {
	t.Helper()
	if err := k8syaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("deploy/k8s/%s: %v", name, err)
	}
}

type k8sObjects struct {
	deployment appsv1.Deployment
	service    corev1.Service
	configMap  corev1.ConfigMap
	secret     corev1.Secret
	hpa        autoscalingv2.HorizontalPodAutoscaler
}

func readK8s(t *testing.T) k8sObjects {
	t.Helper()
	var o k8sObjects
	kinds := map[string]any{"Deployment": &o.deployment, "Service": &o.service, "ConfigMap": &o.configMap, "Secret": &o.secret, "HorizontalPodAutoscaler": &o.hpa}
	seen := map[string]bool{}
	for _, name := range []string{"deployment.yaml", "configmap.yaml", "secret.example.yaml", "hpa.yaml"} {
		for _, doc := range k8sDocs(t, name) {
			var meta struct {
				Kind string `json:"kind"`
			}
			if err := k8syaml.Unmarshal(doc, &meta); err != nil {
				t.Fatal(err)
			}
			into, ok := kinds[meta.Kind]
			if !ok {
				t.Fatalf("deploy/k8s/%s: unexpected kind %q", name, meta.Kind)
			}
			decodeStrict(t, name, doc, into)
			seen[meta.Kind] = true
		}
	}
	for kind := range kinds {
		if !seen[kind] {
			t.Fatalf("deploy/k8s: no %s", kind)
		}
	}
	return o
}

// k8sWorker resolves the worker container's arguments and environment the
// way the kubelet would: envFrom ConfigMaps and Secrets, then env entries
// (values, and secretKeyRef / configMapKeyRef; optional references to
// absent objects set nothing).
func k8sWorker(t *testing.T, o k8sObjects) (workerDeployment, corev1.Container) {
	t.Helper()
	containers := o.deployment.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		t.Fatalf("deployment: got: %d containers, want: 1", len(containers))
	}
	c := containers[0]
	if len(c.Command) != 0 {
		t.Fatalf("deployment: command %v replaces the image's entrypoint isweep; use args", c.Command)
	}
	env := map[string]string{}
	secretData := func(name string) (map[string]string, bool) {
		if o.secret.Name == name {
			return o.secret.StringData, true
		}
		return nil, false
	}
	configData := func(name string) (map[string]string, bool) {
		if o.configMap.Name == name {
			return o.configMap.Data, true
		}
		return nil, false
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		var ok bool
		switch {
		case from.ConfigMapRef != nil:
			data, ok = configData(from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			data, ok = secretData(from.SecretRef.Name)
		}
		if !ok {
			t.Fatalf("deployment: envFrom %+v names an object not in deploy/k8s", from)
		}
		for k, v := range data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			data, ok := secretData(ref.Name)
			if !ok {
				if ref.Optional != nil && *ref.Optional {
					continue
				}
				t.Fatalf("deployment: env %s needs Secret %s, which deploy/k8s does not define and is not optional", e.Name, ref.Name)
			}
			env[e.Name] = data[ref.Key]
		case e.ValueFrom.ConfigMapKeyRef != nil:
			data, ok := configData(e.ValueFrom.ConfigMapKeyRef.Name)
			if !ok {
				t.Fatalf("deployment: env %s names an unknown ConfigMap", e.Name)
			}
			env[e.Name] = data[e.ValueFrom.ConfigMapKeyRef.Key]
		default:
			t.Fatalf("deployment: env %s has a valueFrom this test does not know", e.Name)
		}
	}
	return workerDeployment{args: c.Args, env: env}, c
}

// checkWorker runs `isweep worker -check` with a deployment's arguments
// and environment (and nothing else of this process's environment).
func checkWorker(t *testing.T, d workerDeployment) (int, string) {
	t.Helper()
	if len(d.args) == 0 || d.args[0] != "worker" {
		t.Fatalf("got: arguments %q, want: the worker command first", d.args)
	}
	args := append([]string{"worker", "-check"}, d.args[1:]...)
	return runIsweep(t, d.environ(), args...)
}

func TestDeployFilesAcceptedByWorker(t *testing.T) {
	objs := readK8s(t)
	k8s, _ := k8sWorker(t, objs)
	deployments := map[string]workerDeployment{
		"compose": composeWorker(t),
		"k8s":     k8s,
	}
	for name, d := range deployments {
		t.Run(name, func(t *testing.T) {
			code, out := checkWorker(t, d)
			if code != 0 || !strings.Contains(out, "configuration ok") {
				t.Fatalf("isweep worker -check with %s's arguments %q and environment %q: got: exit %d\n%s\nwant: exit 0, configuration ok", name, d.args, d.environ(), code, out)
			}
			for _, want := range []string{"temporal address:", "S3 credentials:     from AWS_ACCESS_KEY_ID", "health and metrics: :9090"} {
				if !strings.Contains(out, want) {
					t.Errorf("got: %q, want: a line with %q", out, want)
				}
			}
			if v := d.env["AWS_SECRET_ACCESS_KEY"]; v == "" || strings.Contains(out, v) {
				t.Errorf("got: secret %q printed by -check (or no secret configured), want: configured and never printed", v)
			}
		})
	}
}

// TestWorkerCheckRefusesBadSettings proves -check is not a rubber stamp:
// each deployment, spoilt in one setting, is refused with a message naming
// that setting.
func TestWorkerCheckRefusesBadSettings(t *testing.T) {
	base := composeWorker(t)
	tests := []struct {
		name     string
		spoil    func(d *workerDeployment)
		wantCode int
		wantMsg  string
	}{
		{"misspelt variable", func(d *workerDeployment) { d.env["TEMPORAL_ADRESS"] = "temporal:7233" }, 2, "TEMPORAL_ADRESS is not read"},
		{"misspelt isweep variable", func(d *workerDeployment) { d.env["ISWEEP_TASKQUEUE"] = "x" }, 2, "ISWEEP_TASKQUEUE is not read"},
		{"unknown flag", func(d *workerDeployment) { d.args = append(d.args, "-concurency", "2") }, 2, "-concurency"},
		{"metrics address without port", func(d *workerDeployment) { d.args = append(d.args, "-metrics-addr", "9090") }, 2, `-metrics-addr "9090"`},
		{"zero concurrency", func(d *workerDeployment) { d.args = append(d.args, "-concurrency", "0") }, 2, "-concurrency 0"},
		{"concurrency not a number", func(d *workerDeployment) { d.env["ISWEEP_CONCURRENCY"] = "many" }, 2, "ISWEEP_CONCURRENCY"},
		{"half the S3 credentials", func(d *workerDeployment) { delete(d.env, "AWS_SECRET_ACCESS_KEY") }, 2, "AWS_SECRET_ACCESS_KEY"},
		{"credentials in the endpoint", func(d *workerDeployment) { d.env["AWS_ENDPOINT_URL_S3"] = "http://u:p@minio:9000" }, 2, "AWS_ENDPOINT_URL_S3 carries user information"},
		{"endpoint with a path", func(d *workerDeployment) { d.env["AWS_ENDPOINT_URL_S3"] = "http://minio:9000/bucket" }, 2, "without a path"},
		{"TLS not a boolean", func(d *workerDeployment) { d.env["TEMPORAL_TLS"] = "yes please" }, 2, "TEMPORAL_TLS"},
		{"client certificate without key", func(d *workerDeployment) { d.env["TEMPORAL_TLS_CLIENT_CERT_PATH"] = "/certs/client.pem" }, 2, "TEMPORAL_TLS_CLIENT_KEY_PATH"},
		{"missing CA file", func(d *workerDeployment) { d.env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] = "/no/such/ca.pem" }, 2, "TEMPORAL_TLS_SERVER_CA_CERT_PATH"},
		{"missing S3 CA file", func(d *workerDeployment) { d.env["AWS_CA_BUNDLE"] = "/no/such/bundle.pem" }, 2, "/no/such/bundle.pem"},
		{"address without port", func(d *workerDeployment) { d.env["TEMPORAL_ADDRESS"] = "temporal" }, 2, `TEMPORAL_ADDRESS temporal is not host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := workerDeployment{args: slices.Clone(base.args), env: map[string]string{}}
			for k, v := range base.env {
				d.env[k] = v
			}
			tt.spoil(&d)
			code, out := checkWorker(t, d)
			if code != tt.wantCode || !strings.Contains(out, tt.wantMsg) {
				t.Errorf("got: exit %d\n%s\nwant: exit %d and a message containing %q", code, out, tt.wantCode, tt.wantMsg)
			}
			if strings.Contains(out, "configuration ok") {
				t.Errorf("got: %q, want: no \"configuration ok\"", out)
			}
		})
	}
}

func TestComposeFile(t *testing.T) {
	services := readCompose(t)
	for _, name := range []string{"postgresql", "temporal", "temporal-ui", "minio", "worker"} {
		if _, ok := services[name]; !ok {
			t.Errorf("deploy/compose.yaml: got: no service %s, want: one", name)
		}
	}
	if img := services["temporal"].Image; !strings.HasPrefix(img, "temporalio/server:") {
		t.Errorf("temporal: got: image %q, want: the official temporalio/server", img)
	}
	if img := services["temporal-ui"].Image; !strings.HasPrefix(img, "temporalio/ui:") {
		t.Errorf("temporal-ui: got: image %q, want: the official temporalio/ui", img)
	}
	w := services["worker"]
	if w.ContainerName != "" || len(w.Ports) > 0 {
		t.Errorf("worker: got: container_name %q and ports %v, want: neither (they stop --scale worker=N)", w.ContainerName, w.Ports)
	}
	if w.Build == nil || w.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("worker: got: build %+v, want: deploy/Dockerfile", w.Build)
	}
	// No secret is written inline: every variable whose name says secret
	// comes from an env file.
	secretName := regexp.MustCompile(`PASSWORD|PWD|SECRET|API_KEY|ACCESS_KEY`)
	for name, s := range services {
		for k := range s.environment(t) {
			if secretName.MatchString(k) {
				t.Errorf("service %s: got: %s set inline in compose.yaml, want: it in an env file", name, k)
			}
		}
		for _, f := range s.EnvFile {
			if strings.HasSuffix(f, ".env") && !strings.Contains(f, "worker.env") {
				if _, err := os.Stat(filepath.Join(repoRoot, "deploy", f+".example")); err != nil {
					t.Errorf("service %s: env file %s has no .example to start from: %v", name, f, err)
				}
			}
		}
	}
}

// TestComposeServerDynamicConfig holds the Temporal server of
// deploy/compose.yaml to what isweep needs from any server
// (devserver.ClusterDynamicConfig): its dynamic config file is mounted
// where DYNAMIC_CONFIG_FILE_PATH points, the server's own loader accepts
// it, and it sets every setting isweep needs to its value.
func TestComposeServerDynamicConfig(t *testing.T) {
	temporal := readCompose(t)["temporal"]
	path := temporal.environment(t)["DYNAMIC_CONFIG_FILE_PATH"]
	if path == "" {
		t.Fatal("temporal: got: no DYNAMIC_CONFIG_FILE_PATH, want: the file of deploy/compose/dynamicconfig")
	}
	var file string
	for _, v := range temporal.Volumes {
		host, mount, _ := strings.Cut(strings.TrimSuffix(v, ":ro"), ":")
		if rel, err := filepath.Rel(mount, path); err == nil && filepath.IsLocal(rel) {
			file = filepath.Join(repoRoot, "deploy", host, rel)
		}
	}
	if file == "" {
		t.Fatalf("temporal: got: volumes %v, want: one holding %s", temporal.Volumes, path)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	loader := dynamicconfig.LoadYamlFile(body)
	if err := loader.Err(); err != nil || len(loader.Warnings) > 0 {
		t.Fatalf("%s: got: errors %v, warnings %v; want: none", file, err, loader.Warnings)
	}
	for key, want := range devserver.ClusterDynamicConfig() {
		values := loader.Map[dynamicconfig.MakeKey(key)]
		if len(values) != 1 || values[0].Value != want || values[0].Constraints != (dynamicconfig.Constraints{}) {
			t.Errorf("%s: %s: got: %+v, want: %v for every namespace", file, key, values, want)
		}
	}
}

func TestKubernetesFiles(t *testing.T) {
	o := readK8s(t)
	d, c := k8sWorker(t, o)
	metricsPort := ""
	for i, a := range d.args {
		if a == "-metrics-addr" && i+1 < len(d.args) {
			_, metricsPort, _ = strings.Cut(d.args[i+1], ":")
		}
	}
	if metricsPort == "" {
		t.Fatalf("deployment: got: args %q, want: -metrics-addr for the probes", d.args)
	}
	portOf := func(name string) string {
		for _, p := range c.Ports {
			if p.Name == name {
				return fmt.Sprint(p.ContainerPort)
			}
		}
		return name
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: got: none, want: an HTTP GET of %s", p.name, p.path)
			continue
		}
		if got := p.probe.HTTPGet.Path; got != p.path {
			t.Errorf("%s probe: got: path %s, want: %s", p.name, got, p.path)
		}
		if got := portOf(p.probe.HTTPGet.Port.String()); got != metricsPort {
			t.Errorf("%s probe: got: port %s, want: %s (-metrics-addr)", p.name, got, metricsPort)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("deployment: got: resources %+v, want: cpu requests and memory limits", c.Resources)
	}
	sc := o.deployment.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("deployment: got: pod securityContext %+v, want: runAsNonRoot", sc)
	}
	if o.hpa.Spec.ScaleTargetRef.Kind != "Deployment" || o.hpa.Spec.ScaleTargetRef.Name != o.deployment.Name {
		t.Errorf("HPA: got: target %+v, want: Deployment %s", o.hpa.Spec.ScaleTargetRef, o.deployment.Name)
	}
	if o.service.Spec.Selector["app.kubernetes.io/name"] != o.deployment.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Errorf("metrics Service: got: selector %v, want: the worker pods' labels %v", o.service.Spec.Selector, o.deployment.Spec.Template.Labels)
	}
	// Secrets only in the Secret: the ConfigMap and plain env values hold none.
	secretName := regexp.MustCompile(`PASSWORD|SECRET|API_KEY|ACCESS_KEY`)
	for k := range o.configMap.Data {
		if secretName.MatchString(k) {
			t.Errorf("ConfigMap: got: %s, want: it in a Secret", k)
		}
	}
	for _, e := range c.Env {
		if secretName.MatchString(e.Name) && e.ValueFrom == nil {
			t.Errorf("deployment: got: %s with an inline value, want: it from a Secret", e.Name)
		}
	}
}

// dockerfile is the part of deploy/Dockerfile this test reads.
type dockerfile struct {
	froms      []string
	user       string
	entrypoint string
	buildRun   string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines.
	text := strings.ReplaceAll(string(body), "\\\n", " ")
	var d dockerfile
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		inst, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(inst) {
		case "FROM":
			d.froms = append(d.froms, strings.Fields(rest)[0])
		case "USER":
			d.user = strings.TrimSpace(rest)
		case "ENTRYPOINT":
			d.entrypoint = rest
		case "RUN":
			if strings.Contains(rest, "go build") {
				d.buildRun = rest
			}
		}
	}
	return d
}

// TestDockerfileBuildsStaticNonRootImage checks the Dockerfile's stages and
// user, then runs its own build command here (no Docker engine needed) and
// checks that the binary is static and accepts the compose worker's
// configuration.
func TestDockerfileBuildsStaticNonRootImage(t *testing.T) {
	d := readDockerfile(t)
	if len(d.froms) < 2 || !strings.HasPrefix(d.froms[0], "golang:") {
		t.Errorf("got: stages %v, want: a golang builder stage first, then the runtime stage", d.froms)
	}
	if final := d.froms[len(d.froms)-1]; !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("got: final stage %s, want: distroless/static or scratch", final)
	}
	if user, _, _ := strings.Cut(d.user, ":"); user == "" || user == "0" || user == "root" {
		t.Errorf("got: USER %q, want: a non-root user", d.user)
	}
	if !strings.Contains(d.entrypoint, "isweep") {
		t.Errorf("got: ENTRYPOINT %s, want: isweep", d.entrypoint)
	}
	if !strings.Contains(d.buildRun, "CGO_ENABLED=0") || !strings.Contains(d.buildRun, "./cmd/isweep") {
		t.Fatalf("got: build step %q, want: CGO_ENABLED=0 go build … ./cmd/isweep", d.buildRun)
	}
	if testing.Short() {
		t.Skip("-short: not running the Dockerfile's build command (a full CGO_ENABLED=0 build)")
	}
	// The build command without the RUN --mount options, writing here.
	cmdline := d.buildRun[strings.Index(d.buildRun, "CGO_ENABLED=0"):]
	out := filepath.Join(t.TempDir(), "isweep")
	cmdline = regexp.MustCompile(`-o \S+`).ReplaceAllString(cmdline, "-o "+out)
	build := exec.Command("sh", "-c", cmdline)
	build.Dir = repoRoot
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("got: a dynamic interpreter in the binary, want: a static binary (distroless/static has no libc)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("got: shared libraries %v, want: none", libs)
	}
	w := composeWorker(t)
	cmd := exec.Command(out, append([]string{"worker", "-check"}, w.args[1:]...)...)
	cmd.Env = w.environ()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("static binary: worker -check with the compose configuration: %v\n%s", err, b)
	}
}
