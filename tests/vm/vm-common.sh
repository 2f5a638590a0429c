# What tests/vm/real-kernel-check and tests/vm/systemd-unit-check share: Debian's kernel, its
# modules for an initramfs, and QEMU's NVMe controller as an SR-IOV device behind an emulated
# IOMMU (generic mode: no vendor ABI). Sourced, not run.
kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
[[ -r $kernel ]] || { echo "$(basename "$0"): no $kernel (apt-get install linux-image-amd64)" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "$(basename "$0"): apt-get install qemu-system-x86 busybox-static" >&2; exit 2; }

# Copies the kernel modules `$@` need, each after what it needs, into directory $dir, and sets
# `mods` to their file names in load order.
copy_modules() {
  local dir=$1 top_module _ path
  shift
  mods=()
  for top_module in "$@"; do
    while read -r _ path; do
      [[ " ${mods[*]} " == *" $(basename "$path") "* ]] || { mods+=("$(basename "$path")"); cp "$path" "$dir/"; }
    done < <(modprobe -S "$kver" --show-depends "$top_module" | grep '^insmod')
  done
}

qemu_machine=(-machine q35,kernel-irqchip=split -accel tcg -smp 1 -nographic -no-reboot -device intel-iommu,intremap=on)
nvme_sriov=(-device nvme-subsys,id=subsys0
            -device nvme,serial=aismi0,id=nvme0,subsys=subsys0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2,max_ioqpairs=8,msix_qsize=4)
