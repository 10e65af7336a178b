# tessel_add_plugin(KIND <kind> NAME <name> ENTRY <file with TESSEL_PLUGIN>
#                   [SOURCES <implementation files>] [LIBS <link libraries>])
#
# Builds the loadable module tessel-<kind>-<name>.so into the plugin folder.
# In-tree it also builds tessel-<kind>-<name>-impl, a static library of
# SOURCES that unit tests link directly (the ENTRY file holds the one exported
# descriptor, so several impl libraries can share one test binary).
function(tessel_add_plugin)
  cmake_parse_arguments(P "" "KIND;NAME;ENTRY" "SOURCES;LIBS" ${ARGN})
  if(NOT P_KIND OR NOT P_NAME OR NOT P_ENTRY)
    message(FATAL_ERROR "tessel_add_plugin needs KIND, NAME and ENTRY")
  endif()
  set(target tessel-${P_KIND}-${P_NAME})
  if(TARGET tessel)
    set(core tessel)
  else()
    set(core tessel::tessel)
  endif()
  if(P_SOURCES)
    add_library(${target}-impl STATIC ${P_SOURCES})
    set_target_properties(${target}-impl PROPERTIES POSITION_INDEPENDENT_CODE ON)
    target_link_libraries(${target}-impl PUBLIC ${core} ${P_LIBS})
    target_include_directories(${target}-impl PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
    set(impl ${target}-impl)
  endif()
  add_library(${target} MODULE ${P_ENTRY})
  target_link_libraries(${target} PRIVATE ${core} ${impl} ${P_LIBS})
  if(DEFINED TESSEL_PLUGIN_BUILD_DIR)
    set(out ${TESSEL_PLUGIN_BUILD_DIR})
  else()
    set(out ${CMAKE_CURRENT_BINARY_DIR}/plugins)
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME ${target}
    LIBRARY_OUTPUT_DIRECTORY ${out}
    BUILD_RPATH "\$ORIGIN/../lib"
    INSTALL_RPATH "\$ORIGIN/../..")
  if(DEFINED TESSEL_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${TESSEL_PLUGIN_INSTALL_DIR})
  endif()
  set_property(GLOBAL APPEND PROPERTY TESSEL_PLUGINS ${target})
endfunction()
