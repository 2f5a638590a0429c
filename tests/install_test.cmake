# Installs the build into a DESTDIR twice, with prefix /usr and /usr/local, and checks that the
# binaries, the unit and the configuration agree on where things are. Leaves nothing behind.
file(REMOVE_RECURSE "${WORK_DIR}")
function(check_install prefix etc)
  set(dest "${WORK_DIR}/${prefix}")
  set(ENV{DESTDIR} "${dest}")
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}" RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install with prefix ${prefix} failed")
  endif()
  # Every program with its man page, wherever its folder is in the source tree.
  set(man "${prefix}/share/man")
  foreach(f "${prefix}/sbin/aismid" "${prefix}/bin/aismi" "${prefix}/bin/aismi-sim" "${prefix}/bin/aismi-device-plugin" "${prefix}/bin/aismi-firmware-pack"
            "${etc}/aismi/aismid.conf" "${etc}/libvirt/hooks/qemu.d/aismi-libvirt-hook"
            "${man}/man8/aismid.8" "${man}/man1/aismi.1" "${man}/man1/aismi-sim.1" "${man}/man1/aismi-device-plugin.1" "${man}/man1/aismi-firmware-pack.1"
            "${man}/man8/aismi-libvirt-hook.8")
    if(NOT EXISTS "${dest}${f}")
      message(FATAL_ERROR "prefix ${prefix}: ${f} was not installed")
    endif()
  endforeach()
  file(GLOB_RECURSE units "${dest}/*aismid.service")
  list(LENGTH units n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "prefix ${prefix}: expected one aismid.service, found: ${units}")
  endif()
  file(READ "${units}" unit)
  if(NOT unit MATCHES "ExecStart=${prefix}/sbin/aismid --config=${etc}/aismi/aismid.conf\n")
    message(FATAL_ERROR "prefix ${prefix}: the unit's ExecStart does not name ${prefix}/sbin/aismid and ${etc}/aismi/aismid.conf")
  endif()
endfunction()
check_install(/usr /etc)
check_install(/usr/local /usr/local/etc)
file(REMOVE_RECURSE "${WORK_DIR}")
