# Integration tests with real peers (SIPp, baresip, Kamailio) on loopback.
# Included from test/CMakeLists.txt when AGENTLINE_INTEG is ON.
# Run: ctest --test-dir build -L integ   (see test/integ/README.md)

find_program(AGENTLINE_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT AGENTLINE_PYTHON3)
	find_program(AGENTLINE_PYTHON3 python3)
endif()

set(INTEG_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integ)

# agentline_integ(name TIMEOUT secs [LABELS extra...] [SERIAL])
function(agentline_integ name)
	cmake_parse_arguments(I "SERIAL" "TIMEOUT" "LABELS" ${ARGN})
	add_test(NAME integ.${name}
		COMMAND ${AGENTLINE_PYTHON3} ${INTEG_DIR}/test_${name}.py
			$<TARGET_FILE:agentline> ${PROJECT_SOURCE_DIR})
	set_tests_properties(integ.${name} PROPERTIES
		LABELS "integ;${I_LABELS}"
		TIMEOUT ${I_TIMEOUT}
		ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1"
		SKIP_RETURN_CODE 77)
	if(I_SERIAL)
		set_tests_properties(integ.${name} PROPERTIES
			RUN_SERIAL TRUE RESOURCE_LOCK agentline_load)
	endif()
endfunction()

agentline_integ(sipp_basic        TIMEOUT 90  LABELS asan)
agentline_integ(sipp_cancel       TIMEOUT 90)
agentline_integ(sipp_hold         TIMEOUT 90)
agentline_integ(sipp_dtmf_rfc4733 TIMEOUT 90)
agentline_integ(sipp_dtmf_info    TIMEOUT 90)
agentline_integ(sipp_bye_both     TIMEOUT 90)
agentline_integ(sipp_options      TIMEOUT 60)
agentline_integ(sipp_maxcalls     TIMEOUT 90)
agentline_integ(sipp_uac          TIMEOUT 120 LABELS asan)
agentline_integ(sipp_load         TIMEOUT 300 LABELS asan SERIAL)
agentline_integ(baresip           TIMEOUT 150)
agentline_integ(kamailio          TIMEOUT 180)
agentline_integ(malformed         TIMEOUT 90)
agentline_integ(cli               TIMEOUT 90)
agentline_integ(media_extra       TIMEOUT 120 LABELS asan)
agentline_integ(direct_mode       TIMEOUT 90)
agentline_integ(agent_call        TIMEOUT 300 LABELS asan)
agentline_integ(tts_failover      TIMEOUT 120 LABELS asan)
# control API (src/api)
agentline_integ(api_contract      TIMEOUT 120 LABELS asan)
agentline_integ(api_events        TIMEOUT 120 LABELS asan)
# trust (src/policy)
agentline_integ(trust_sip         TIMEOUT 120 LABELS asan)
agentline_integ(trust_agent       TIMEOUT 300)
# persistence (src/store)
agentline_integ(store_call        TIMEOUT 120 LABELS asan)
agentline_integ(store_crash       TIMEOUT 180)
agentline_integ(api_agent         TIMEOUT 180 LABELS asan)
# offline receptionist, scripted caller, make demo (playbook helper)
agentline_integ(receptionist      TIMEOUT 1500 LABELS accuracy)
agentline_integ(demo              TIMEOUT 300)
agentline_integ(api_webhook       TIMEOUT 120)
# tools on real calls (actions)
agentline_integ(tools_calls       TIMEOUT 240 LABELS asan)
# control centre (src/api/www)
agentline_integ(ui                TIMEOUT 600)
# LLM brain (llm helper)
agentline_integ(llm               TIMEOUT 400)
agentline_integ(llm_call          TIMEOUT 240 LABELS asan)
agentline_integ(api_cli           TIMEOUT 90)
agentline_integ(api_reg           TIMEOUT 90)
agentline_integ(api_sched         TIMEOUT 120)
# control-centre softphone over WebRTC (phone helper, issue 7)
agentline_integ(webrtc_phone      TIMEOUT 300)
# secret scan (policy): scans the logs every test above kept; it runs after
# all of them.  Keep this block last.
agentline_integ(secret_scan       TIMEOUT 120 LABELS scan)
get_property(_integ_all DIRECTORY PROPERTY TESTS)
list(FILTER _integ_all INCLUDE REGEX "^integ\\.")
list(REMOVE_ITEM _integ_all integ.secret_scan)
set_tests_properties(integ.secret_scan PROPERTIES DEPENDS "${_integ_all}")
