"""User-namespaced targets (podman --userns=auto): the session is in the target's user
namespace with its id maps, and the debug tools appear root-owned where the filesystem supports
idmapped mounts (ext4, tmpfs, xfs, btrfs; not overlayfs or FUSE)."""
import os
import unittest

from cntrtest import CntrTestCase, ns_inodes, read_file, start

IDMAP_CAPABLE = {"ext4", "ext3", "ext2", "tmpfs", "xfs", "btrfs"}


def fstype_of(path):
    """The filesystem type of the mount holding path, from our mountinfo (longest match)."""
    path = os.path.realpath(path)
    best, fstype = "", None
    for line in read_file("/proc/self/mountinfo").splitlines():
        fields = line.split()
        mount_point = fields[4]
        after = fields[fields.index("-") + 1]
        if (path + "/").startswith(mount_point.rstrip("/") + "/") and len(mount_point) >= len(best):
            best, fstype = mount_point, after
    return fstype


class PodmanUsernsAuto(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "podman", userns_auto=True)

    def test_precondition_target_has_its_own_user_namespace(self):
        self.assertNotEqual(ns_inodes(self.target.pid)["user"], os.readlink("/proc/self/ns/user"))

    def test_id_maps_and_user_namespace_are_the_targets(self):
        out = self.attach_sh(self.target.pid, "cat /proc/self/uid_map; echo ---; "
                             "cat /proc/self/gid_map; echo ---; readlink /proc/self/ns/user")
        uid_map, gid_map, user_ns = out.split("---\n")
        pid = self.target.pid
        self.assertEqual(uid_map.split(), read_file("/proc/%d/uid_map" % pid).split())
        self.assertEqual(gid_map.split(), read_file("/proc/%d/gid_map" % pid).split())
        self.assertEqual(user_ns.strip(), ns_inodes(pid)["user"])

    def test_session_is_root_inside(self):
        self.assertEqual(self.attach_sh(self.target.pid, "id -u; id -g").split(), ["0", "0"])

    def test_debug_tools_appear_root_owned(self):
        fstype = fstype_of("/usr/bin/python3")
        if fstype not in IDMAP_CAPABLE:
            self.skipTest("/usr is on %s, which cannot be idmapped" % fstype)
        out = self.attach_sh(self.target.pid, "stat -L -c %u:%g /usr/bin/python3 /bin/sh")
        self.assertEqual(out.split(), ["0:0", "0:0"])

    def test_files_written_in_the_target_get_the_targets_mapped_owner(self):
        self.attach_sh(self.target.pid, "echo x > /var/lib/cntr/srv/written-by-session")
        path = self.target.root_path("srv/written-by-session")
        host_root_uid = int(read_file("/proc/%d/uid_map" % self.target.pid).split()[1])
        self.assertEqual(os.stat(path).st_uid, host_root_uid)


if __name__ == "__main__":
    unittest.main(verbosity=2)
