# Fails when packaging/agentline.conf.example differs from what the
# binary prints, so the committed example never goes stale.
# Run as: cmake -DBIN=agentline -DREF=agentline.conf.example -P this
# Regenerate: agentline config-example > packaging/agentline.conf.example
execute_process(COMMAND ${BIN} config-example
	OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "agentline config-example exited ${rc}")
endif()
file(READ ${REF} ref)
if(NOT out STREQUAL ref)
	message(FATAL_ERROR "${REF} is stale: regenerate it with\n"
		"  ${BIN} config-example > ${REF}")
endif()
