#!/usr/bin/env bash
# topo.sh: `pipegrid topo` on real captures and `train --show-placement`.
#
#  1. A 4-node cluster of DGX-2 nodes, pp=4 x dp=16 (16 ranks per node on a
#     capture trimmed to 4 cores, so --oversubscribe): with a model whose
#     gradients outweigh its activations, auto keeps every allreduce inside
#     the nodes (stage-major); with one whose activations outweigh its
#     gradients, every pipeline (replica-major). In both the chosen order is
#     strictly the cheapest in the printed table, and the table shows the
#     bytes each order keeps inside and sends between nodes.
#  2. Lassen, one rank per GPU: the printed plan.
#  3. This machine as JSON, and the training run printing its placement.
#  4. NVLink: every capture here, one rank per GPU: the one-line warning about
#     NVLink-class GPUs without NVLink data appears for Lassen (4 V100-SXM2)
#     and nowhere else, and not with placement.gpu_links; on 2 Lassen nodes,
#     pp=4 x dp=2, the gradient-heavy model's allreduce goes between the
#     nodes without links (replica-major) and stays inside them with the
#     links, given for every pair or by a file of the socket pairs.
#  5. The live path: Lassen read as this machine (HWLOC_XMLFILE,
#     HWLOC_THISSYSTEM=1) with the fake NVML reporting its links: the plan
#     says in one line that NVLink was read through NVML and keeps the
#     allreduce inside the nodes; with no NVML library it says so in one line
#     (and no topology-file warning) and sends the allreduce between the nodes.
set -euo pipefail
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
T=topologies
fail() { echo "FAIL: $*"; exit 1; }

# --- 1. grid order on 4 DGX-2 nodes ---
check_order() { # CONFIG EXPECTED_ORDER HEAVY(allreduce|p2p)
  "$PIPEGRID" topo --xml $T/hwloc-nvidiaDGX2.xml --nodes 4 --pp 4 --dp 16 --oversubscribe \
    -c "$T/$1" --json >"$out/plan.json"
  "$PIPEGRID" topo --xml $T/hwloc-nvidiaDGX2.xml --nodes 4 --pp 4 --dp 16 --oversubscribe \
    -c "$T/$1" | tee "$out/plan.txt" | sed -n '/^communication/,$p'
  "$PG_PYTHON" - "$out/plan.json" "$2" "$3" <<'EOF'
import json, sys
plan, want, heavy = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
orders = {o["order"]: o for o in plan["orders"]}
chosen = [o for o in plan["orders"] if o["chosen"]]
assert plan["order"] == want and len(chosen) == 1 and chosen[0]["order"] == want, plan["order"]
c = chosen[0]
pipe = c["p2p_bytes_inside_nodes"] + c["p2p_bytes_between_nodes"]
grads = c["allreduce_bytes_inside_nodes"] + c["allreduce_bytes_between_nodes"]
if heavy == "allreduce":
    assert grads > 10 * pipe, (grads, pipe)
    assert c["allreduce_bytes_between_nodes"] == 0 and c["p2p_bytes_between_nodes"] > 0
else:
    assert pipe > 10 * grads, (pipe, grads)
    assert c["p2p_bytes_between_nodes"] == 0 and c["allreduce_bytes_between_nodes"] > 0
for name, o in orders.items():  # the other named order sends the heavy traffic out
    if name != want:
        assert o["total_seconds"] >= c["total_seconds"], (name, o["total_seconds"])
other = orders["replica-major" if want == "stage-major" else "stage-major"]
assert other["total_seconds"] > 5 * c["total_seconds"], other
key = "allreduce_bytes_between_nodes" if heavy == "allreduce" else "p2p_bytes_between_nodes"
assert other[key] > 0
# 64 ranks, every GPU of every node used once, every grid cell once
rows = plan["placement"]
assert len(rows) == 64
assert len({(r["node"], r["gpu"]) for r in rows}) == 64
assert len({(r["stage"], r["replica"]) for r in rows}) == 64
print(f"ok: {want} chosen, {c['total_seconds']*1e3:.3f} ms vs {other['total_seconds']*1e3:.3f} ms")
EOF
  grep -q "^\* $2 " "$out/plan.txt" || fail "table does not mark $2"
  grep -q "heavier traffic: " "$out/plan.txt" || fail "no explanation line"
}
check_order gradient_heavy.ini stage-major allreduce
grep -q "heavier traffic: gradient allreduce" "$out/plan.txt" || fail "gradient-heavy explanation"
check_order activation_heavy.ini replica-major p2p
grep -q "heavier traffic: between pipeline neighbours" "$out/plan.txt" || fail "activation explanation"

# --- 2. Lassen: one rank per GPU, cores and NICs as mpibind would ---
"$PIPEGRID" topo --xml $T/mpibind-coral-lassen.xml --pp 2 --dp 2 --topology | tee "$out/lassen.txt"
for want in "0004:04:00.0 8-47 .* 10 0 .*mlx5_0" "0004:05:00.0 48-87 .* 10 0 .*mlx5_1" \
            "0035:03:00.0 96-135 .* 10 8 .*mlx5_2" "0035:04:00.0 136-175 .* 10 8 .*mlx5_3"; do
  grep -Eq "$want" "$out/lassen.txt" || fail "Lassen plan lacks '$want'"
done

# --- 3. this machine ---
"$PIPEGRID" topo --pp 1 --dp 1 --json >"$out/live.json"
"$PG_PYTHON" -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["ranks"] == 1 and p["placement"][0]["cpus"]' "$out/live.json"
timeout 120 "$MPIEXEC" -n 2 "$PIPEGRID" train --pp 2 --steps 2 --show-placement | tee "$out/train.txt"
grep -q "^order: auto chose " "$out/train.txt" || fail "train did not print the order choice"
grep -Eq "^ +[01] .* (yes|no \()" "$out/train.txt" || fail "train did not print the rank table"

# a launcher's binding (here taskset around mpiexec) is kept by placement.bind=auto
if command -v taskset >/dev/null; then
  taskset -c 0 timeout 120 "$MPIEXEC" -n 1 "$PIPEGRID" train --steps 1 --show-placement >"$out/ts.txt"
  grep -q "no (launcher's binding kept)" "$out/ts.txt" || fail "launcher binding not kept"
fi

# an XML file from hwloc 3 (format 3.0), which hwloc 2 cannot read
sed 's/<topology version="2.0">/<topology version="3.0">/' $T/hwloc-24em64t-2n6c2t-pci.xml >"$out/v3.xml"
bash cli/expect_error.sh 0 "not a valid hwloc XML topology" -- topo --xml "$out/v3.xml"

# more ranks than cores with binding demanded: one agreed error (small machines)
cores=$(hwloc-calc -N core all)
if [ "$cores" -lt 4 ]; then
  n=$((cores + 1))
  bash cli/expect_error.sh "$n" "$n ranks per node but only $cores cores" -- \
    train --steps 1 --set placement.bind=cores --set train.batch_size=$((12 * n))
fi
echo "topo.sh: all checks passed"

# --- 4. NVLink: the warning exactly where NVLink-class GPUs lack links; the override ---
for x in $T/*.xml; do
  "$PIPEGRID" topo --xml "$x" --oversubscribe >"$out/w.txt" 2>"$out/w.err" || fail "$x: topo failed"
  n=$(grep -c "warning: .*normally connected by NVLink.*placement.gpu_links=nvlink:GBS" "$out/w.err" || true)
  lines=$(wc -l <"$out/w.err")
  case $x in
    */mpibind-coral-lassen.xml) [ "$n" = 1 ] && [ "$lines" = 1 ] || fail "$x: no one-line warning" ;;
    *) [ "$n" = 0 ] || fail "$x: unexpected warning: $(cat "$out/w.err")" ;;
  esac
done
printf '# Lassen: 3 NVLink 2.0 links between the GPUs of a socket\n0004:04:00.0 0004:05:00.0 75\n0035:03:00.0 0035:04:00.0 75\n' >"$out/lassen.links"
lassen2() { "$PIPEGRID" topo --xml $T/mpibind-coral-lassen.xml --nodes 2 --pp 4 --dp 2 \
              -c $T/gradient_heavy.ini --json "$@" 2>"$out/l.err"; }
lassen2 >"$out/none.json"
lassen2 --set placement.gpu_links=nvlink:75 >"$out/all.json"
lassen2 --set placement.gpu_links=file:"$out/lassen.links" >"$out/file.json"
if grep -q "normally connected by NVLink" "$out/l.err"; then fail "warning despite placement.gpu_links"; fi
"$PG_PYTHON" - "$out" <<'EOF'
import json, sys
d = sys.argv[1]
def chosen(name):
    p = json.load(open(f"{d}/{name}.json"))
    return p, [o for o in p["orders"] if o["chosen"]][0]
p, c = chosen("none")
assert c["order"] == "replica-major" and c["allreduce_bytes_inside_nodes"] == 0, c
assert p["topology"]["nvlink_source"] == "no NVLink data in the topology"
for name in ("all", "file"):
    p, c = chosen(name)
    g = p["topology"]["gpus"]
    assert c["allreduce_bytes_between_nodes"] == 0 and c["allreduce_bytes_inside_nodes"] > 0, (name, c)
    assert g[0]["nvlink_gbs"][1] == 75 and g[2]["nvlink_gbs"][3] == 75, name
    assert (g[0]["nvlink_gbs"][2] == 75) == (name == "all"), name
    assert p["topology"]["nvlink_source"].startswith("NVLink from placement.gpu_links="), p["topology"]
    print(f"ok: {name}: {c['order']} keeps the allreduce inside the nodes")
EOF

# --- 5. live: NVLink through (a fake) NVML, and without NVML ---
live() { HWLOC_XMLFILE=$T/mpibind-coral-lassen.xml HWLOC_THISSYSTEM=1 "$PIPEGRID" topo --nodes 2 \
           --pp 4 --dp 2 -c $T/gradient_heavy.ini --set placement.bind=none 2>&1; }
PG_NVML_LIBRARY="$PG_NVML_STUB_LIB" \
PG_NVML_STUB="0004:04:00.0 0004:05:00.0 3 2 gpu; 0035:03:00.0 0035:04:00.0 3 2 gpu" live | tee "$out/nvml.txt"
[ "$(grep -c '^gpu links: NVLink read through NVML' "$out/nvml.txt")" = 1 ] || fail "no NVML line"
grep -q "^order: auto chose stage-major" "$out/nvml.txt" || fail "NVML links did not keep the allreduce inside"
if grep -q "normally connected by NVLink" "$out/nvml.txt"; then fail "warning despite NVML links"; fi
PG_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 live | tee "$out/nonvml.txt"
[ "$(grep -c '^gpu links: NVLink not read: NVML (/nonexistent/libnvidia-ml.so.1) cannot be loaded' "$out/nonvml.txt")" = 1 ] \
  || fail "no one-line note without NVML"
grep -q "^order: auto chose replica-major" "$out/nonvml.txt" || fail "order without NVLink"
if grep -q "normally connected by NVLink" "$out/nonvml.txt"; then fail "file warning on a live node"; fi
