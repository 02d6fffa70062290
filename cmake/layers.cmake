# layers.cmake: one static library per concept folder, built in layer order,
# each compiled against an include view that holds only the headers it may use.
#
#   pg_layer(NAME DIRS dir... MAY_USE lib... SOURCES file... [LINK target...])
#
# NAME is the library (pg_NAME); DIRS are its folders (root-relative; a
# subfolder listed elsewhere is not part of it); MAY_USE names the libraries
# directly below it (what they may use, it may use too). The view, ${CMAKE_BINARY_DIR}/layers/NAME,
# mirrors the source tree with symbolic links to the headers of DIRS and of
# every library below it, and nothing else: an include that points up
# the layers ("runtime/engine/run.h" from runtime/model/) is a compile error
# ("No such file or directory"). Includes are root-relative everywhere
# (#include "runtime/base/error.h"). pg_layers.txt in the build folder lists
# each library with its folders and every library below it; the layers test
# (tests/layers_check.py) reads it and checks the include graph of the
# sources against it.
set(PG_LAYERS_FILE ${CMAKE_BINARY_DIR}/pg_layers.txt)
file(WRITE ${PG_LAYERS_FILE} "# library | folders | may use (written by cmake/layers.cmake)\n")

function(pg_layer_view name dirs)
  set(view ${CMAKE_BINARY_DIR}/layers/${name})
  file(REMOVE_RECURSE ${view})
  foreach(d IN LISTS dirs)
    file(GLOB headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/${d} ${PROJECT_SOURCE_DIR}/${d}/*.h)
    file(MAKE_DIRECTORY ${view}/${d})
    foreach(h IN LISTS headers)
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${d}/${h} ${view}/${d}/${h} SYMBOLIC)
    endforeach()
  endforeach()
endfunction()

function(pg_layer name)
  cmake_parse_arguments(L "" "" "DIRS;MAY_USE;SOURCES;LINK" ${ARGN})
  set(dirs ${L_DIRS})
  set(below "")
  foreach(dep IN LISTS L_MAY_USE)
    if(NOT TARGET pg_${dep})
      message(FATAL_ERROR "layer ${name}: '${dep}' is not a layer defined below it")
    endif()
    get_property(dep_dirs GLOBAL PROPERTY PG_LAYER_DIRS_${dep})
    get_property(dep_below GLOBAL PROPERTY PG_LAYER_BELOW_${dep})
    list(APPEND dirs ${dep_dirs})
    list(APPEND below ${dep} ${dep_below})
  endforeach()
  list(REMOVE_DUPLICATES dirs)
  list(REMOVE_DUPLICATES below)
  set_property(GLOBAL PROPERTY PG_LAYER_DIRS_${name} ${dirs})
  set_property(GLOBAL PROPERTY PG_LAYER_BELOW_${name} ${below})
  pg_layer_view(${name} "${dirs}")
  add_library(pg_${name} STATIC ${L_SOURCES})
  # the view replaces the source root: only what MAY_USE allows is visible
  target_include_directories(pg_${name} PRIVATE ${CMAKE_BINARY_DIR}/layers/${name})
  foreach(dep IN LISTS L_MAY_USE)
    target_link_libraries(pg_${name} PUBLIC pg_${dep})
  endforeach()
  target_link_libraries(pg_${name} PUBLIC ${L_LINK})
  string(REPLACE ";" " " d "${L_DIRS}")
  string(REPLACE ";" " " u "${below}")
  file(APPEND ${PG_LAYERS_FILE} "${name} | ${d} | ${u}\n")
endfunction()
