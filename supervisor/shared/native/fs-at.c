// The file system calls Node lacks, for acting inside a directory the sandbox user can
// write through descriptors instead of paths (never following a swapped-in symlink):
//   openAt(dirFd, path, flags, mode) -> fd        openat(2), O_CLOEXEC always added
//   renameAt(oldDirFd, oldPath, newDirFd, newPath) renameat(2)
//   unlinkAt(dirFd, path, directory)               unlinkat(2), AT_REMOVEDIR when directory
//   getInodeFlags(fd) -> flags                     ioctl FS_IOC_GETFLAGS (what lsattr reads)
//   setInodeFlags(fd, flags)                       ioctl FS_IOC_SETFLAGS (what chattr writes)
// dirFd may be -100 (AT_FDCWD). Each throws an Error with .errno (positive) on failure.
#define _GNU_SOURCE
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

// openAt(dirFd, path, flags, mode) -> fd. The caller passes O_NOFOLLOW (and O_NONBLOCK
// where a FIFO could be planted); O_CLOEXEC is added so no child inherits the descriptor.
napi_value open_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "openAt(dirFd, path, flags, mode): dirFd, flags and mode must be integers, path a string";
  int32_t dir_fd, flags, mode;
  if (argc < 4 || !int_arg(env, args[0], &dir_fd, usage) || !int_arg(env, args[2], &flags, usage) ||
      !int_arg(env, args[3], &mode, usage)) {
    if (argc < 4) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char *path = dup_string(env, args[1]);
  if (path == NULL) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int fd;
  do {
    fd = openat(dir_fd, path, flags | O_CLOEXEC, (mode_t)mode);
  } while (fd < 0 && errno == EINTR);
  int err = errno;
  napi_value result = NULL;
  if (fd < 0) result = throw_errno(env, err, "openAt");
  else if (napi_create_int32(env, fd, &result) != napi_ok) close(fd);
  free(path);
  return result;
}

napi_value rename_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "renameAt(oldDirFd, oldPath, newDirFd, newPath): descriptors must be integers, paths strings";
  int32_t old_dir, new_dir;
  if (argc < 4 || !int_arg(env, args[0], &old_dir, usage) || !int_arg(env, args[2], &new_dir, usage)) {
    if (argc < 4) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char *old_path = dup_string(env, args[1]);
  char *new_path = dup_string(env, args[3]);
  napi_value result = NULL;
  if (old_path == NULL || new_path == NULL) napi_throw_type_error(env, NULL, usage);
  else if (renameat(old_dir, old_path, new_dir, new_path) != 0) result = throw_errno(env, errno, "renameAt");
  else napi_get_undefined(env, &result);
  free(old_path);
  free(new_path);
  return result;
}

napi_value unlink_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "unlinkAt(dirFd, path, directory): dirFd an integer, path a string, directory a boolean";
  int32_t dir_fd;
  bool directory = false;
  if (argc < 3 || !int_arg(env, args[0], &dir_fd, usage)) {
    if (argc < 3) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  if (napi_get_value_bool(env, args[2], &directory) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  char *path = dup_string(env, args[1]);
  napi_value result = NULL;
  if (path == NULL) napi_throw_type_error(env, NULL, usage);
  else if (unlinkat(dir_fd, path, directory ? AT_REMOVEDIR : 0) != 0) result = throw_errno(env, errno, "unlinkAt");
  else napi_get_undefined(env, &result);
  free(path);
  return result;
}

// The kernel reads and writes an int through both ioctls, whatever their declared type says.
napi_value get_inode_flags(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !int_arg(env, args[0], &fd, "getInodeFlags(fd): fd must be an integer")) {
    if (argc < 1) napi_throw_type_error(env, NULL, "getInodeFlags(fd) needs 1 argument");
    return NULL;
  }
  int flags = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return throw_errno(env, errno, "getInodeFlags");
  napi_value result;
  CHECK(napi_create_int32(env, flags, &result));
  return result;
}

napi_value set_inode_flags(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  const char *usage = "setInodeFlags(fd, flags): fd and flags must be integers";
  int32_t fd, flags;
  if (argc < 2 || !int_arg(env, args[0], &fd, usage) || !int_arg(env, args[1], &flags, usage)) {
    if (argc < 2) napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int value = flags;
  if (ioctl(fd, FS_IOC_SETFLAGS, &value) != 0) return throw_errno(env, errno, "setInodeFlags");
  napi_value result;
  CHECK(napi_get_undefined(env, &result));
  return result;
}
