# The libraries kenyon installs, made from the objects of the module libraries (nothing is compiled
# twice), and what `cmake --install` puts in the prefix:
#   lib/libkenyon_core.so.* and libkenyon_core.a   the embeddable core (KENYON_CORE_MODULES)
#   lib/libkenyon.so.* and libkenyon.a             the full library (KENYON_FULL_MODULES); needs the core
#   include/kenyon/*.h                             the public headers
#   lib/pkgconfig/kenyon-core.pc, kenyon.pc        for `pkg-config --cflags --libs kenyon-core`
#   lib/cmake/kenyon/                              for find_package(kenyon): kenyon::core, kenyon::kenyon,
#                                                  kenyon::core_static, kenyon::kenyon_static
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# While kenyon is 0.x every minor version may change the ABI, so the soname carries it.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(KENYON_SOVERSION 0.${PROJECT_VERSION_MINOR})
else()
  set(KENYON_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

# kn_library(target OUTPUT name KIND SHARED|STATIC EXPORT name MODULES ... DEPS ...)
function(kn_library target)
  cmake_parse_arguments(L "" "OUTPUT;KIND;EXPORT" "MODULES;DEPS" ${ARGN})
  set(objects)
  foreach(m ${L_MODULES})
    list(APPEND objects $<TARGET_OBJECTS:kn_${m}>)
  endforeach()
  add_library(${target} ${L_KIND} ${objects})
  add_library(kenyon::${L_EXPORT} ALIAS ${target})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${L_OUTPUT} EXPORT_NAME ${L_EXPORT}
                        LINKER_LANGUAGE C)
  target_include_directories(${target} INTERFACE $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>
                             $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PRIVATE ${L_DEPS})
  if(L_KIND STREQUAL "SHARED")
    set_target_properties(${target} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${KENYON_SOVERSION})
    # Name only the libraries actually used (oneDNN's imported target also lists its OpenCL
    # runtime, which the core never calls).
    target_link_options(${target} PRIVATE -Wl,--as-needed)
    # Every symbol must resolve within the library and what it names as dependencies (this is what
    # proves the core needs nothing from the full library). Sanitizer runtimes are the exception.
    if(NOT KENYON_SANITIZE AND NOT KENYON_FUZZ)
      target_link_options(${target} PRIVATE -Wl,--no-undefined)
    endif()
  endif()
endfunction()

kn_library(kenyon_core_shared OUTPUT kenyon_core KIND SHARED EXPORT core
           MODULES ${KENYON_CORE_MODULES} DEPS ${KENYON_CORE_DEPS})
kn_library(kenyon_core_static OUTPUT kenyon_core KIND STATIC EXPORT core_static
           MODULES ${KENYON_CORE_MODULES} DEPS ${KENYON_CORE_DEPS})
kn_library(kenyon_shared OUTPUT kenyon KIND SHARED EXPORT kenyon
           MODULES ${KENYON_FULL_MODULES} DEPS ${KENYON_FULL_DEPS})
target_link_libraries(kenyon_shared PUBLIC kenyon_core_shared)
kn_library(kenyon_static OUTPUT kenyon KIND STATIC EXPORT kenyon_static
           MODULES ${KENYON_FULL_MODULES} DEPS ${KENYON_FULL_DEPS})
target_link_libraries(kenyon_static PUBLIC kenyon_core_static)

install(TARGETS kenyon_core_shared kenyon_core_static kenyon_shared kenyon_static EXPORT kenyonTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/kenyon DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/kenyon)
install(EXPORT kenyonTargets NAMESPACE kenyon:: DESTINATION ${cmake_dir})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/kenyonConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/kenyonConfig.cmake INSTALL_DESTINATION ${cmake_dir})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/kenyonConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/kenyonConfig.cmake ${CMAKE_BINARY_DIR}/kenyonConfigVersion.cmake
        DESTINATION ${cmake_dir})

# pkg-config files that find the prefix from their own place (${pcfiledir}), so that
# `cmake --install build --prefix P` gives working files for any P.
set(pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH KENYON_PC_TO_PREFIX /${pc_dir} /)
string(REGEX REPLACE "/$" "" KENYON_PC_TO_PREFIX "${KENYON_PC_TO_PREFIX}")
set(KENYON_OPENMP_FLAGS ${OpenMP_C_FLAGS})
foreach(pc kenyon-core kenyon)
  configure_file(${CMAKE_SOURCE_DIR}/cmake/${pc}.pc.in ${CMAKE_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/${pc}.pc DESTINATION ${pc_dir})
endforeach()
