/**
 * `GET /v1/agent/install.sh`: the one-line install of an agent, decided purely. The coordinator fills
 * in its own address (as the host reached it), its CA's fingerprint and the SHA-256 of every file it
 * serves; the script (POSIX sh, for hosts with no Node.js) picks the file for the host's architecture
 * and package manager, checks its digest, installs it, writes the settings, enrolls and starts.
 */
export interface ServedFile {
  name: string;
  sha256: string;
  size: number;
}

export interface ScriptInput {
  /** `https://host:port` as the host reached the coordinator (`http://` with --insecure). */
  baseUrl: string;
  /** `host:port` for agent.yaml's `coordinator:`. */
  coordinator: string;
  /** The CA's SHA-256 fingerprint (colon hex); absent with --insecure. */
  caFingerprint?: string;
  files: readonly ServedFile[];
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function installScript(input: ScriptInput): string {
  const files = input.files.map(f => `${f.name} ${f.sha256} ${f.size}`).join('\n');
  return `#!/bin/sh
# The Ferry agent's one-line install, served by the coordinator at ${input.baseUrl}/v1/agent/install.sh:
#   curl -fsSL --cacert ca.crt ${input.baseUrl}/v1/agent/install.sh | sudo sh -s -- --token fy.… --tag role=web
# Options: --token T (or FERRY_JOIN_TOKEN), --tag key=value (repeatable), --zone Z,
#          --package auto|deb|rpm|binary (default auto: dpkg, then rpm, else the bare binary), --cacert FILE.
set -eu
FERRY_URL=${sq(input.baseUrl)}
FERRY_COORDINATOR=${sq(input.coordinator)}
FERRY_CA_FINGERPRINT=${sq(input.caFingerprint ?? '')}
FERRY_FILES=${sq(files)}
CONFIG=/etc/ferry/agent.yaml

die() { echo "ferry-agent install.sh: $*" >&2; exit 1; }
token=\${FERRY_JOIN_TOKEN:-}; tags=''; zone=''; pkg=auto; cacert=''
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || case "$1" in -h|--help) ;; *) die "$1 needs a value";; esac
  case "$1" in
    --token) token=$2; shift 2 ;;
    --tag)
      case "$2" in *=*) ;; *) die "--tag: '$2' is not key=value" ;; esac
      case "$2" in *[!A-Za-z0-9_.:/=-]*) die "--tag: '$2' may hold only letters, digits and _ . : / -" ;; esac
      tags="$tags $2"; shift 2 ;;
    --zone) zone=$2; shift 2 ;;
    --package) pkg=$2; shift 2 ;;
    --cacert) cacert=$2; shift 2 ;;
    -h|--help) echo "options: --token T --tag key=value (repeatable) --zone Z --package auto|deb|rpm|binary --cacert FILE"; exit 0 ;;
    *) die "unknown option '$1' (options: --token --tag --zone --package --cacert)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "must run as root: pipe it to 'sudo sh -s -- …'"
[ -n "$FERRY_CA_FINGERPRINT" ] && [ -z "$token" ] && die "--token is required: an admin makes one with: ferry token create --role agent --uses 1"
command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install curl / dnf install curl)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum (coreutils) is needed"

case "$(uname -m)" in
  x86_64|amd64) arch=x64; debarch=amd64; rpmarch=x86_64 ;;
  aarch64|arm64) arch=arm64; debarch=arm64; rpmarch=aarch64 ;;
  *) die "no Ferry agent for $(uname -m): linux x86_64 and aarch64 only" ;;
esac
if [ "$pkg" = auto ]; then
  if command -v dpkg >/dev/null 2>&1; then pkg=deb; elif command -v rpm >/dev/null 2>&1; then pkg=rpm; else pkg=binary; fi
fi
case "$pkg" in
  deb) want="ferry-agent_*_$debarch.deb" ;;
  rpm) want="ferry-agent-*.$rpmarch.rpm" ;;
  binary) want="ferry-agent-linux-$arch" ;;
  *) die "--package: '$pkg' is not auto, deb, rpm or binary" ;;
esac
line=$(echo "$FERRY_FILES" | while read -r name sha size; do case "$name" in $want) echo "$name $sha"; break ;; esac; done)
[ -n "$line" ] || die "the coordinator serves no $pkg for linux-$arch: put it in its DATA/agent/ (npm run build:agent makes it), or choose another with --package"
name=\${line%% *}; sha=\${line#* }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if [ -n "$FERRY_CA_FINGERPRINT" ]; then
  if [ -z "$cacert" ]; then
    curl -fsSk "$FERRY_URL/v1/agent/ca.crt" -o "$tmp/ca.crt" || die "cannot fetch the coordinator's CA from $FERRY_URL/v1/agent/ca.crt"
    cacert=$tmp/ca.crt
  fi
  fp=$(sed '/-----/d' "$cacert" | base64 -d | sha256sum | cut -d ' ' -f 1)
  want_fp=$(echo "$FERRY_CA_FINGERPRINT" | tr -d ':' | tr 'A-F' 'a-f')
  [ "$fp" = "$want_fp" ] || die "the CA in $cacert is not the coordinator's (SHA-256 $fp, expected $FERRY_CA_FINGERPRINT): not installing"
  get() { curl -fsS --cacert "$cacert" "$FERRY_URL$1" -o "$2"; }
else
  get() { curl -fsS "$FERRY_URL$1" -o "$2"; }
fi
echo "ferry-agent install.sh: downloading $name"
get "/v1/agent/files/$name" "$tmp/$name" || die "cannot download $FERRY_URL/v1/agent/files/$name"
echo "$sha  $tmp/$name" | sha256sum -c - >/dev/null 2>&1 || die "$name: its SHA-256 is not $sha, which the coordinator announced: not installed (download it again)"

case "$pkg" in
  deb) dpkg -i "$tmp/$name" || die "dpkg -i $name failed (above)" ;;
  rpm) rpm -U --replacepkgs "$tmp/$name" || die "rpm -U $name failed (above)" ;;
  binary)
    install -m 0755 "$tmp/$name" /usr/bin/ferry-agent
    mkdir -p /etc/ferry
    [ -e "$CONFIG" ] || { umask 077; echo "root-dir: /opt/ferry-agent/deployment-root" > "$CONFIG"; } ;;
esac

# Settings the config file does not have yet (an existing one is kept as it is).
grep -q '^coordinator:' "$CONFIG" || echo "coordinator: $FERRY_COORDINATOR" >> "$CONFIG"
if [ -n "$tags" ] && ! grep -q '^tags:' "$CONFIG"; then
  echo 'tags:' >> "$CONFIG"
  for kv in $tags; do echo "  \\"\${kv%%=*}\\": \\"\${kv#*=}\\"" >> "$CONFIG"; done
fi
[ -z "$zone" ] || grep -q '^zone:' "$CONFIG" || echo "zone: $zone" >> "$CONFIG"

if [ -n "$FERRY_CA_FINGERPRINT" ]; then
  FERRY_JOIN_TOKEN=$token /usr/bin/ferry-agent enroll --config "$CONFIG" --ca-fingerprint "$FERRY_CA_FINGERPRINT" \\
    || die "enrollment failed (above): ask for a new join token (ferry token create --role agent --uses 1) and run this again"
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl enable --now ferry-agent.service || die "systemctl enable --now ferry-agent failed: see journalctl -u ferry-agent"
  echo "ferry-agent install.sh: done: ferry-agent is running (systemctl status ferry-agent)"
else
  echo "ferry-agent install.sh: done; systemd is not running here: run /usr/bin/ferry-agent start --config $CONFIG under your supervisor"
fi
`;
}
