# Builds and runs tests/consumer in all three ways a project can use mien. Run with cmake -P; needs
# MIEN_SOURCE_DIR and WORK_DIR. Fails on the first step that fails.
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer: ${what} failed (${rc})\n${out}\n${err}")
  endif()
  message(STATUS "consumer: ${what}: ok ${out}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(consumer_src ${CMAKE_CURRENT_LIST_DIR})
set(flags -DCMAKE_BUILD_TYPE=Release)

# find_package: install mien into a prefix first.
run_step("configure mien for install" ${CMAKE_COMMAND} -S ${MIEN_SOURCE_DIR} -B ${WORK_DIR}/mien-build ${flags}
         -DMIEN_BUILD_TESTS=OFF -DMIEN_BUILD_EXAMPLES=OFF -DMIEN_BUILD_BENCHMARKS=OFF -DMIEN_CUDA=OFF)
run_step("install mien" ${CMAKE_COMMAND} --install ${WORK_DIR}/mien-build --prefix ${WORK_DIR}/prefix)

foreach(mode subdirectory fetchcontent package)
  set(build ${WORK_DIR}/${mode})
  run_step("configure (${mode})" ${CMAKE_COMMAND} -S ${consumer_src} -B ${build} ${flags} -DMIEN_CONSUME=${mode}
           -DMIEN_SOURCE_DIR=${MIEN_SOURCE_DIR} -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
  run_step("build (${mode})" ${CMAKE_COMMAND} --build ${build})
  run_step("run (${mode})" ${build}/consumer)
endforeach()
