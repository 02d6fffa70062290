# cuda.cmake: the optional CUDA backend (CUDA runtime, cuBLAS, NCCL, NVTX).
#
#   PIPEGRID_CUDA=AUTO  build it when nvcc, cuBLAS and NCCL are all found (default)
#   PIPEGRID_CUDA=ON    build it; a missing piece is a configure error
#   PIPEGRID_CUDA=OFF   CPU only
#
# Sets PG_CUDA (ON/OFF) and, when ON, adds the CUDA backend to pg_compute and
# NCCL to pg_collectives (cmake/layers.cmake), defines PG_HAVE_CUDA for every
# layer and links CUDA::cudart, CUDA::cublas and NCCL. Device code is compiled for PIPEGRID_CUDA_ARCHS (default 80;90: A100,
# H100/H200); nvcc is slow, keep the list short.
set(PIPEGRID_CUDA AUTO CACHE STRING "CUDA backend: AUTO | ON | OFF")
set_property(CACHE PIPEGRID_CUDA PROPERTY STRINGS AUTO ON OFF)
set(PIPEGRID_CUDA_ARCHS "80;90" CACHE STRING "CUDA architectures to compile for")
set(PG_CUDA OFF)

function(pg_cuda_missing what)
  if(PIPEGRID_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PIPEGRID_CUDA=ON, but ${what} was not found")
  endif()
  message(STATUS "pipegrid: CUDA backend off (${what} not found)")
endfunction()

if(NOT PIPEGRID_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "PIPEGRID_CUDA must be AUTO, ON or OFF, got '${PIPEGRID_CUDA}'")
endif()

if(NOT PIPEGRID_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    pg_cuda_missing("the CUDA compiler (nvcc)")
  else()
    enable_language(CUDA)
    set(CMAKE_CUDA_ARCHITECTURES ${PIPEGRID_CUDA_ARCHS})
    # the layers were made before CUDA was enabled: give them the archs too
    # (with CUDA enabled, CMake refuses a target whose CUDA_ARCHITECTURES is empty)
    get_property(pg_made DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t IN LISTS pg_made)
      get_target_property(pg_type ${t} TYPE)
      if(NOT pg_type STREQUAL "INTERFACE_LIBRARY")
        set_target_properties(${t} PROPERTIES CUDA_ARCHITECTURES "${PIPEGRID_CUDA_ARCHS}")
      endif()
    endforeach()
    find_package(CUDAToolkit)
    find_library(PG_NCCL_LIBRARY nccl
      HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib ${CUDAToolkit_LIBRARY_ROOT}/lib64
            /usr/local/cuda/lib /usr/local/cuda/lib64)
    find_path(PG_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
    if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cublas)
      pg_cuda_missing("the CUDA toolkit with cuBLAS")
    elseif(NOT PG_NCCL_LIBRARY OR NOT PG_NCCL_INCLUDE_DIR)
      pg_cuda_missing("NCCL (libnccl, nccl.h)")
    elseif(NOT EXISTS ${CUDAToolkit_INCLUDE_DIRS}/nvtx3/nvToolsExt.h)
      pg_cuda_missing("NVTX 3 (nvtx3/nvToolsExt.h)")
    else()
      set(PG_CUDA ON)
    endif()
  endif()
endif()

if(PG_CUDA)
  message(STATUS "pipegrid: CUDA backend on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "archs ${PIPEGRID_CUDA_ARCHS}, NCCL ${PG_NCCL_LIBRARY})")
  # the backend is part of the compute layer, NCCL of the collectives; PG_HAVE_CUDA
  # (and the toolkit's headers, for NVTX in runtime/base/range.h) reach every layer
  target_sources(pg_compute PRIVATE
    runtime/compute/cuda/ops_cuda.cu
    runtime/compute/cuda/kernels.cu
    runtime/compute/cuda/check.c
    runtime/compute/cuda/device_cuda.c)
  target_sources(pg_collectives PRIVATE collectives/comm_nccl.c)
  target_compile_definitions(pg_base PUBLIC PG_HAVE_CUDA)
  target_include_directories(pg_base PUBLIC ${CUDAToolkit_INCLUDE_DIRS})
  target_include_directories(pg_collectives PRIVATE ${PG_NCCL_INCLUDE_DIR})
  target_link_libraries(pg_compute PUBLIC CUDA::cudart CUDA::cublas)
  target_link_libraries(pg_collectives PUBLIC ${PG_NCCL_LIBRARY})
  set_target_properties(pg_compute PROPERTIES CUDA_ARCHITECTURES "${PIPEGRID_CUDA_ARCHS}"
                        CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_compile_options(pg_compute PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>)
endif()
