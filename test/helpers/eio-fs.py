#!/usr/bin/python3
"""A FUSE pass-through filesystem that fails I/O with EIO on demand, for the fault tests.

    eio-fs.py BACKING MOUNTPOINT

Every file and directory is BACKING's. Writing "write N" to MOUNTPOINT/.fault makes every write
that reaches byte N of a file fail with EIO; "read N" does the same for reads; "fsync N" fails
the fsync of every file of N bytes or more; "slow N" makes every read take N ms more (a slow
disk, so a restore lasts long enough to be interrupted); "off" clears it. This is the error a dying disk gives, which a full filesystem
(ENOSPC) does not.
"""
import errno
import os
import sys
import time

from fusepy import FUSE, FuseOSError, Operations

CONTROL = '/.fault'


class EioFs(Operations):
    def __init__(self, root):
        self.root = root
        self.mode = ('off', 0)

    def _p(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def _fail(self, op, end):
        kind, limit = self.mode
        if kind == op and end > limit:
            raise FuseOSError(errno.EIO)

    # Control file: write-only, always empty.
    def getattr(self, path, fh=None):
        if path == CONTROL:
            return {'st_mode': 0o100200, 'st_nlink': 1, 'st_size': 0, 'st_uid': 0, 'st_gid': 0}
        st = os.lstat(self._p(path))
        return {k: getattr(st, k) for k in (
            'st_mode', 'st_nlink', 'st_size', 'st_uid', 'st_gid', 'st_atime', 'st_mtime', 'st_ctime', 'st_ino')}

    def readdir(self, path, fh):
        return ['.', '..'] + os.listdir(self._p(path))

    def readlink(self, path):
        return os.readlink(self._p(path))

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def symlink(self, target, source):
        os.symlink(source, self._p(target))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._p(path), times)

    def truncate(self, path, length, fh=None):
        if path == CONTROL:
            return
        os.truncate(self._p(path), length)

    def statfs(self, path):
        st = os.statvfs(self.root)
        return {k: getattr(st, k) for k in (
            'f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag',
            'f_frsize', 'f_namemax')}

    def open(self, path, flags):
        if path == CONTROL:
            return 0
        return os.open(self._p(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

    def read(self, path, size, offset, fh):
        self._fail('read', offset + size)
        if self.mode[0] == 'slow':
            time.sleep(self.mode[1] / 1000)
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        if path == CONTROL:
            words = data.decode().split()
            self.mode = (words[0], int(words[1]) if len(words) > 1 else 0)
            return len(data)
        self._fail('write', offset + len(data))
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        if path == CONTROL:
            return 0
        if self.mode[0] == 'fsync' and os.fstat(fh).st_size >= self.mode[1]:
            raise FuseOSError(errno.EIO)
        os.fsync(fh)
        return 0

    def release(self, path, fh):
        if path != CONTROL:
            os.close(fh)
        return 0


if __name__ == '__main__':
    FUSE(EioFs(sys.argv[1]), sys.argv[2], foreground=True, nothreads=False, allow_other=True, default_permissions=False)
